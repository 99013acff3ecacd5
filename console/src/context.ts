import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Api } from "./api";
import type { Session } from "./session";

export interface ConsoleContext {
  api: Api;
  session: Session;
}

export const Context = createContext<ConsoleContext | null>(null);

export function useConsole(): ConsoleContext {
  const value = useContext(Context);
  if (value === null) throw new Error("useConsole outside <Context.Provider>");
  return value;
}
