// The app: onboarding until a language model is on the device, then loading, then chat;
// settings and the saved conversations from the chat.
import type { ModelState } from "../../gen/bindings";
import { ChatScreen } from "./chat";
import { ConversationsPanel } from "./conversations";
import { clear, h } from "./dom";
import { canChat, Onboarding } from "./onboarding";
import { type Backend, tauriBackend, toBackendError } from "./platform";
import { SettingsScreen } from "./settings";

export async function start(root: HTMLElement, backend: Backend): Promise<void> {
  let voiceAvailable = false;
  let autoSend = true;
  await backend.onModelState((s: ModelState) => {
    if (s.state === "loaded" && s.role === "asr") voiceAvailable = true;
    if ((s.state === "failed" || s.state === "unloaded") && s.role === "asr") voiceAvailable = false;
  });

  const show = (el: HTMLElement) => {
    clear(root);
    root.append(el);
    root.removeAttribute("aria-busy");
    performance.mark(`screen:${el.className}`);
  };

  const loading = async () => {
    show(h("section", { class: "loading", "aria-live": "polite" },
      h("div", { class: "spinner", "aria-hidden": "true" }),
      h("p", {}, "Getting ready…"),
      h("p", { class: "help" }, "The model is being loaded into memory. The first time takes a moment.")));
    try {
      performance.mark("models:load-start");
      const view = await backend.loadModels();
      performance.mark("models:loaded");
      voiceAvailable = view.loaded_asr != null;
      autoSend = (await backend.getSettings()).settings.auto_send ?? true;
      chat();
    } catch (e) {
      const err = toBackendError(e);
      show(h("section", { class: "loading" }, h("p", { class: "error", role: "alert" }, err.message),
        h("button", { type: "button", class: "primary", onclick: () => void loading() }, "Try again"),
        h("button", { type: "button", class: "quiet", onclick: () => void settings() }, "Settings")));
    }
  };

  let chatScreen: ChatScreen | null = null;
  const chat = () => {
    chatScreen = new ChatScreen(backend, { autoSend, voiceAvailable }, () => void settings(), () => void conversations());
    show(chatScreen.element);
    chatScreen.input.focus();
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
    show(screen.element);
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
    show(screen.element);
  };

  const conversations = async () => {
    const screen = chatScreen;
    if (!screen) return;
    const panel = new ConversationsPanel(backend, {
      opened: (view) => {
        screen.showConversation(view);
        show(screen.element);
        screen.input.focus();
      },
      newConversation: async () => {
        await screen.newChat();
        show(screen.element);
        screen.input.focus();
      },
      deletedOpen: () => screen.clearConversation(),
      close: () => {
        show(screen.element);
        screen.conversationsButton.focus();
      },
    });
    await panel.open();
    show(panel.element);
    panel.focus();
  };

  const models = await backend.listModels();
  if (canChat(models)) await loading();
  else show(new Onboarding(backend, models, () => void loading()).element);
}

const root = document.getElementById("app");
if (root && "__TAURI_INTERNALS__" in window) {
  tauriBackend()
    .then((b) => start(root, b))
    .catch((e) => {
      root.textContent = `Murmur could not start: ${toBackendError(e).message}`;
    });
}
