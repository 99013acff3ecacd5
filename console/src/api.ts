// The console's only way to the registry: the public HTTP API, typed by src/api-types.ts, which
// `npm run types` generates from the served OpenAPI document. A renamed field or parameter in the
// contract is a type error here or in a page, so `make console` fails before a user sees it.
import type { components, paths } from "./api-types";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type Device = Schemas["DeviceDetail"];
export type DeviceSummary = Schemas["DeviceSummary"];
export type DeviceStatus = Schemas["DeviceStatus"];
export type HistoryEntry = Schemas["HistoryEntry"];
export type FieldChange = Schemas["FieldChange"];
export type StatusValue = Schemas["StatusValue"];

type Method = "get" | "post" | "put" | "patch" | "delete";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Parameters<O> = O extends { parameters: infer X } ? X : never;
type PathOf<O> = Parameters<O> extends { path: infer X } ? X : never;
type QueryOf<O> = Parameters<O> extends { query?: infer X } ? X : never;
type BodyOf<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type JsonOf<R> = R extends { content: { "application/json": infer B } } ? B : null;
type SuccessOf<O> = O extends { responses: infer R }
  ? 200 extends keyof R
    ? JsonOf<R[200]>
    : 201 extends keyof R
      ? JsonOf<R[201]>
      : 202 extends keyof R
        ? JsonOf<R[202]>
        : null
  : never;

export type Query<P extends keyof paths, M extends Method = "get"> = QueryOf<Operation<P, M>>;
export type Answer<P extends keyof paths, M extends Method = "get"> = SuccessOf<Operation<P, M>>;

export interface CallOptions<P extends keyof paths, M extends Method> {
  path?: PathOf<Operation<P, M>>;
  query?: QueryOf<Operation<P, M>>;
  body?: BodyOf<Operation<P, M>>;
  /** The ETag the change is based on: a 412 then means someone changed it since. */
  ifMatch?: string | null;
}

export interface Reply<T> {
  body: T;
  etag: string | null;
}

/** An answer other than 2xx; `detail` is what the user is shown (the problem document's own sentence). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | null;

  constructor(status: number, problem: Problem | null, fallback: string) {
    super(problem?.detail ?? fallback);
    this.status = status;
    this.problem = problem;
  }

  get detail(): string {
    return this.message;
  }
}

export function errorDetail(error: unknown): string {
  if (error instanceof ApiError) return error.detail;
  if (error instanceof Error) return `The API could not be reached: ${error.message}`;
  return String(error);
}

export class Api {
  readonly base: URL;
  private readonly token: () => string | null;

  constructor(base: URL, token: () => string | null) {
    this.base = base;
    this.token = token;
  }

  async call<P extends keyof paths, M extends Method>(
    method: M,
    template: P,
    options: CallOptions<P, M> = {},
  ): Promise<Reply<Answer<P, M>>> {
    const url = new URL(expand(template, (options.path ?? {}) as Record<string, string | number>).slice(1), this.base);
    for (const [name, value] of Object.entries((options.query ?? {}) as Record<string, unknown>)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { Accept: "application/json" };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (options.ifMatch) headers["If-Match"] = options.ifMatch;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method: method.toUpperCase(),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const problem = isProblem(parsed) ? parsed : null;
      throw new ApiError(response.status, problem, `${response.status} ${response.statusText}`);
    }
    return { body: parsed as Answer<P, M>, etag: response.headers.get("ETag") };
  }

  get<P extends keyof paths>(template: P, options: CallOptions<P, "get"> = {}) {
    return this.call("get", template, options);
  }
}

function expand(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(values[name])));
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && typeof (value as Problem).detail === "string";
}
