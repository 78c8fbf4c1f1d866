// The app: onboarding until a language model is on the device, then loading, then chat;
// settings and the saved conversations from the chat. One state object follows the backend's
// `model-state` events for the whole app; the chat screen is made once and kept (a model loaded
// again with new settings shows the same conversation); a screen that is replaced lets go of
// what it listened to outside itself.
import type { ModelsView } from "../../gen/bindings";
import { ChatScreen } from "./chat";
import { ConversationsPanel } from "./conversations";
import { clear, h } from "./dom";
import { errorBlock, showError } from "./errors";
import { canChat, Onboarding } from "./onboarding";
import { type Backend, tauriBackend, toBackendError } from "./platform";
import { SettingsScreen } from "./settings";
import { ChatState } from "./state";
import { APP } from "./strings";

/** What is on screen: its element, and what it does when it is shown and replaced. */
interface Screen {
  element: HTMLElement;
  enter?(): void;
  leave?(): void;
}

/** The running app: its state, and the way to stop it (every listener it registered goes). */
export interface App {
  state: ChatState;
  dispose(): void;
}

export async function start(root: HTMLElement, backend: Backend): Promise<App> {
  let autoSend = true;
  const state = new ChatState();
  const unlisten = await backend.onModelState((s) => state.applyModelState(s));
  /** What the models view says is loaded (after a load, whatever the order of the events). */
  const loadedFrom = (view: ModelsView) => {
    state.setModel("llm", view.loaded_llm != null ? "loaded" : "unloaded");
    state.setModel("asr", view.loaded_asr != null ? "loaded" : "unloaded");
  };

  let current: Screen | null = null;
  const show = (screen: Screen) => {
    if (current && current !== screen) current.leave?.();
    current = screen;
    clear(root);
    root.append(screen.element);
    root.removeAttribute("aria-busy");
    screen.enter?.();
    performance.mark(`screen:${screen.element.className}`);
  };

  let chatScreen: ChatScreen | null = null;

  const loading = async () => {
    show({ element: h("section", { class: "loading", "aria-live": "polite" },
      h("div", { class: "spinner", "aria-hidden": "true" }),
      h("p", {}, APP.gettingReady),
      h("p", { class: "help" }, APP.gettingReadyHelp)) });
    try {
      performance.mark("models:load-start");
      state.setModel("llm", "loading");
      const view = await backend.loadModels();
      performance.mark("models:loaded");
      loadedFrom(view);
      autoSend = (await backend.getSettings()).settings.auto_send ?? true;
    } catch (e) {
      state.setModel("llm", "failed", toBackendError(e));
      show({ element: h("section", { class: "loading" }, errorBlock(toBackendError(e)),
        h("button", { type: "button", class: "primary", onclick: () => void loading() }, APP.tryAgain),
        h("button", { type: "button", class: "quiet", onclick: () => void settings() }, APP.settings)) });
      return;
    }
    await chat();
  };

  const chat = async () => {
    if (!chatScreen) {
      chatScreen = new ChatScreen(backend, { autoSend, state }, () => void settings(), () => void conversations());
      show(chatScreen);
      chatScreen.input.focus();
      return;
    }
    // Loaded again (new settings): the backend kept the open conversation; so does the chat.
    const screen = chatScreen;
    screen.setAutoSend(autoSend);
    try {
      await screen.showCurrentAgain();
    } catch (e) {
      console.warn("The open conversation could not be shown again:", e);
    }
    show(screen);
    screen.input.focus();
  };

  /** Back to the chat (as it was) from the settings, with the settings as they are now. */
  const backToChat = async () => {
    if (!chatScreen) return loading();
    const screen = chatScreen;
    try {
      screen.setAutoSend((await backend.getSettings()).settings.auto_send ?? true);
    } catch {
      // The settings could not be read: the chat keeps the ones it has.
    }
    show(screen);
  };

  const settings = async () => {
    const screen = new SettingsScreen(backend, (reload) => {
      if (reload) void loading();
      else void backToChat();
    }, () => {
      // Everything saved is gone and the backend started a new conversation: an empty chat.
      chatScreen?.clearConversation();
      void backToChat();
    });
    await screen.open();
    show(screen);
  };

  const conversations = async () => {
    const screen = chatScreen;
    if (!screen) return;
    const panel = new ConversationsPanel(backend, {
      opened: (view) => {
        screen.showConversation(view);
        show(screen);
        screen.input.focus();
      },
      newConversation: async () => {
        await screen.newChat();
        show(screen);
        screen.input.focus();
      },
      deletedOpen: () => screen.clearConversation(),
      close: () => {
        show(screen);
        screen.conversationsButton.focus();
      },
    });
    await panel.open();
    show(panel);
    panel.focus();
  };

  const models = await backend.listModels();
  if (canChat(models)) await loading();
  else show(new Onboarding(backend, models, () => void loading()));

  return {
    state,
    dispose: () => {
      current?.leave?.();
      current = null;
      chatScreen?.dispose();
      unlisten();
    },
  };
}

const root = document.getElementById("app");
if (root && "__TAURI_INTERNALS__" in window) {
  tauriBackend()
    .then((b) => start(root, b))
    .catch((e) => {
      const p = h("p", { class: "error", role: "alert" });
      showError(p, e);
      root.replaceChildren(h("section", { class: "loading" }, h("p", {}, APP.couldNotStart), p));
    });
}
