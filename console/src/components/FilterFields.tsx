import { FLEET_FILTERS, type FleetFilterName } from "../fields";

export type Filters = Partial<Record<FleetFilterName, string>>;

/** One labelled field per `GET /devices` filter (a choice list where the values are known): the
 * fleet page's filters and a new job's devices are chosen with the same form. */
export function FilterFields({ prefix, values, onChange }: { prefix: string; values: Filters; onChange: (values: Filters) => void }) {
  return (
    <>
      {FLEET_FILTERS.map((filter) => (
        <p key={filter.name}>
          <label for={`${prefix}-${filter.name}`}>{filter.label}</label>
          {"choices" in filter ? (
            <select
              id={`${prefix}-${filter.name}`}
              name={filter.name}
              value={values[filter.name] ?? ""}
              onChange={(e) => onChange({ ...values, [filter.name]: e.currentTarget.value })}
            >
              <option value="">any</option>
              {filter.choices.map((choice) => (
                <option key={choice} value={choice}>
                  {choice}
                </option>
              ))}
            </select>
          ) : (
            <input
              id={`${prefix}-${filter.name}`}
              name={filter.name}
              placeholder={"placeholder" in filter ? filter.placeholder : undefined}
              value={values[filter.name] ?? ""}
              onInput={(e) => onChange({ ...values, [filter.name]: e.currentTarget.value })}
            />
          )}
        </p>
      ))}
    </>
  );
}
