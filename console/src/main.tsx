import { render } from "preact";
import { Api } from "./api";
import { App } from "./app";
import { Context } from "./context";
import { loadConfig, startSession } from "./session";
import "./styles.css";

async function start(root: HTMLElement): Promise<void> {
  const config = await loadConfig();
  const session = await startSession(config);
  if (session === null) return; // on the way to the sign-in page
  const api = new Api(new URL(config.api, location.href), session.token);
  render(
    <Context.Provider value={{ api, session }}>
      <App />
    </Context.Provider>,
    root,
  );
}

const root = document.getElementById("app") as HTMLElement;
start(root).catch((error: unknown) => {
  root.innerHTML = "";
  const message = document.createElement("p");
  message.className = "error";
  message.setAttribute("role", "alert");
  message.textContent = error instanceof Error ? error.message : String(error);
  root.append(message);
});
