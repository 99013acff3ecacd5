// Hash routes (#/devices/…): the server only ever serves index.html at /console/, whatever page is
// open, so a deep link works behind any static host and any API stage path.
import { useEffect, useState } from "preact/hooks";

export interface Location {
  path: string;
  query: URLSearchParams;
}

export function currentLocation(): Location {
  const [path, query] = (location.hash.replace(/^#/, "") || "/").split("?", 2);
  return { path: path || "/", query: new URLSearchParams(query ?? "") };
}

export function useLocation(): Location {
  const [where, setWhere] = useState(currentLocation);
  useEffect(() => {
    const changed = () => setWhere(currentLocation());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return where;
}

/** `#/path?query` with empty values left out. */
export function href(path: string, query: Record<string, string | number | null | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

export function navigate(path: string, query: Record<string, string | number | null | undefined> = {}): void {
  location.hash = href(path, query);
}
