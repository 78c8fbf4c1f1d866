// The words the person reads, in one place: short sentences, common words, no alarm and no
// false comfort (see UI.md, "Tone of the words"). The backend's errors arrive as a stable code and
// a technical message: the code is put into plain words here; the message is kept only as a
// fallback for a code this list does not know, or as a small details line where its figures
// help (a setting's range, a record's size, the free space).
import type { ErrorCode, IssueKind, Status, Task } from "../../gen/bindings";

/** The medical notice, always visible. */
export const NOTICE = "Murmur explains; it does not diagnose. Ask your clinician before you change anything.";

export const EXAMPLES = [
  "What does a high LDL cholesterol mean?",
  "What is HbA1c, and why is it measured?",
  "What should I ask my doctor about a low ferritin?",
];

export const TASKS: { task: Task; label: string }[] = [
  { task: "explain", label: "Explain results" },
  { task: "summarise", label: "Summarise" },
  { task: "questions", label: "Prepare questions for my visit" },
];

/** How a saved answer ended, when it did not end well, in a few calm words. */
export const STATE_NOTES = {
  interrupted: "Interrupted — the app closed while this answer was being written.",
  cancelled: "Stopped.",
  failedWithoutReason: "This answer could not be written.",
};

/** The name on the card of a reopened conversation's record. */
export const SAVED_RECORD_NAME = "Attached record";

export const CHAT = {
  title: "Murmur",
  conversations: "Conversations",
  newChat: "New chat",
  attach: "Attach record",
  settings: "Settings",
  log: "Conversation",
  inputLabel: "Your question",
  placeholder: "Ask a question…",
  placeholderLoading: "Getting ready…",
  send: "Send",
  stop: "Stop",
  stopLabel: "Stop the answer",
  emptyIntro: "Ask anything about your results, in your own words. For example:",
  emptyRecord: "Or attach a record (paste it or open a text file) and choose:",
  thinking: "Thinking…",
  readingRecord: "Reading your record…",
  trimmed: "The conversation got too long: the oldest messages were set aside.",
  copy: "Copy",
  regenerate: "Regenerate",
  details: "Details",
  errorDetails: "Details",
  attachFirst: "Attach a record first: paste it into the box and press “Attach record”, or open a text file.",
  pastedRecord: "Pasted record",
  modelLoading: "Getting ready… The model is being loaded.",
  modelUnloaded: "No answer model is loaded. Choose one in Settings.",
  answerDone: "The answer is complete.",
  checked: (hasRecord: boolean, n: number) =>
    `${hasRecord ? "Checked against your record" : "Checked"}: ${n} ${n === 1 ? "thing" : "things"} to read with care, listed below the answer.`,
};

export const VOICE = {
  ask: "Ask by voice",
  askTitle: "Ask by voice (Ctrl+M)",
  stopListening: "Stop listening",
  unavailable: "Voice needs the speech model (Settings → Models)",
  loading: "The speech model is getting ready…",
  listening: "Listening…",
  transcribing: "Getting your words…",
  noSpeech: "Didn't catch that — try again.",
  failed: "Voice input did not work.",
};

export const APP = {
  gettingReady: "Getting ready…",
  gettingReadyHelp: "The model is being loaded into memory. The first time takes a moment.",
  tryAgain: "Try again",
  settings: "Settings",
  couldNotStart: "Murmur could not start.",
};

export const SETTINGS = {
  title: "Settings",
  back: "Back",
  models: "Models",
  answerModel: "Answer model",
  voice: "Voice",
  autoSend: " Send a spoken question as soon as it is heard",
  voiceModel: "Voice model",
  automatic: "Automatic",
  style: "Answer style",
  temperature: "Precise ↔ creative",
  temperatureHelp: "Precise gives the same answer every time; creative varies the wording.",
  instructionsHeading: "The assistant's instructions",
  instructionsLabel: "Instructions the assistant follows in every conversation",
  instructionsHelp: "Murmur reads these before every conversation. Reset them to go back to the original wording.",
  reset: "Reset to default",
  advanced: "Advanced",
  context: "Conversation memory (context size)",
  threads: "Threads",
  threadsPlaceholder: "automatic",
  save: "Save",
  saved: "Saved.",
  savedReload: "Saved. The model will be loaded again with the new settings.",
  yourData: "Your data",
  dataHelp: "Your conversations, the records you attached and your settings are kept on this device only.",
  deleteAll: "Delete all my data",
  deleteAllTitle: "Delete all your data?",
  about: "About",
  aboutText: (version: string) => `Murmur ${version}. Everything runs on this device; nothing you say or share leaves it.`,
  delete: "Delete",
  download: "Download",
  resume: "Resume",
  onDevice: "on this device",
  partly: "partly downloaded",
  notDownloaded: "not downloaded",
  fileMissing: " · the file is missing",
};

export const DELETE_ALL_TEXT = "This deletes every saved conversation, attached records, saved caches and your settings from this device. Downloaded models stay. This cannot be undone.";

// The conversations panel.
export const EMPTY_TEXT = "No saved conversations yet. Your questions are saved on this device only.";
export const DELETE_TEXT = "Delete this conversation, its record and its saved cache? This cannot be undone.";
export const UNTITLED = "Untitled";

export const CONVERSATIONS = {
  title: "Conversations",
  searchPlaceholder: "Search your conversations",
  searchLabel: "Search conversations",
  back: "Back",
  backLabel: "Back to the chat",
  newConversation: "New conversation",
  noneWith: (query: string) => `No saved conversation contains “${query}”.`,
  listWith: (query: string) => `Conversations with “${query}”`,
  list: "Saved conversations",
  rename: "Rename",
  renameLabel: (title: string) => `Rename “${title}”`,
  export: "Export",
  exportLabel: (title: string) => `Export “${title}” as Markdown`,
  delete: "Delete",
  deleteLabel: (title: string) => `Delete “${title}”`,
  deleteTitle: (title: string) => `Delete “${title}”?`,
  moreLabel: (title: string) => `More for “${title}”`,
  moreTitle: "Rename, export or delete",
  message: "message",
  recordTag: "Record",
  openNow: "Open now",
  opening: "Opening…",
  typeTitle: "Type a title, or press Cancel.",
  newTitleLabel: (title: string) => `New title for “${title}”`,
  save: "Save",
  cancel: "Cancel",
  exported: (title: string) => `“${title}” was saved as a Markdown file.`,
  deleted: (title: string) => `“${title}” was deleted.`,
  /** An export's file name when the title leaves nothing. */
  fileName: "Conversation",
};

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

// The record card.
export const RECORD = {
  reduced: (results: number) =>
    `This record is long. Murmur reads its ${plural(results, "result", "results")} and the lines around those outside their range; the rest is left out.`,
  results: (n: number) => plural(n, "result", "results"),
  outside: (n: number) => `${n} outside ${n === 1 ? "its" : "their"} range`,
  showAll: (n: number) => `Show all ${n} results`,
  showFewer: "Show fewer results",
  hide: "Hide results",
  show: "Show results",
  test: "Test",
  result: "Result",
  range: "Range",
  status: "Status",
  unread: (n: number) => `${plural(n, "line", "lines")} could not be read`,
  attachedPrefix: "Attached record: ",
  remove: "Remove",
  removeLabel: "Remove the record",
  rangeSuffix: " range",
  labMarked: (flag: string) => ` · lab marked ${flag}`,
  critical: "Critical",
  line: (n: number) => `Line ${n}: `,
};
/** A result's place against its range, in words and an icon (the words carry the meaning). */
export const STATUS_WORDS: Record<Status, { word: string; icon: string }> = {
  above: { word: "Above", icon: "▲" },
  below: { word: "Below", icon: "▼" },
  within: { word: "Within", icon: "✓" },
  no_range: { word: "No range", icon: "–" },
  undetermined: { word: "Can't tell", icon: "?" },
};
export const RED_FLAG_HEADING = "Some results need attention today";
export const NO_ROWS = "No lab values could be read from this record; Murmur will read it as text.";

// The check of an answer.
export const ISSUE_WORDS: Record<IssueKind, { label: string; icon: string }> = {
  unmatched_number: { label: "Number not in your record", icon: "?" },
  contradiction: { label: "Doesn't match your record", icon: "≠" },
  dose: { label: "Sounds like dosing advice", icon: "℞" },
  diagnosis: { label: "Sounds like a diagnosis", icon: "⚕" },
};
export const CHECK_HEADING = "Checked against your record";
/** Without a record only the phrases are checked: the heading says no more than that. */
export const CHECK_HEADING_NO_RECORD = "A note on this answer";

export const ONBOARDING = {
  title: "Murmur",
  lead: "Ask about your health records, by voice or text. Everything stays on this device: nothing you say or share is sent anywhere.",
  needs: "Murmur needs two models on this device, once. The recommended ones are chosen for you:",
  llmTitle: "Answer model",
  llmHelp: "Reads your question and your record, and writes the answer.",
  asrTitle: "Voice model",
  asrHelp: "Turns what you say into text. Optional: you can also type.",
  skipVoice: "Continue without the voice model",
  haveFile: "I already have a model file",
  progressLabel: (name: string) => `${name} download`,
  recommended: " Recommended",
  licence: (licence: string) => `Licence: ${licence}.`,
  onDevice: "On this device",
  onDeviceChecked: "On this device (checked)",
  resume: "Resume",
  pause: "Pause",
  cancel: "Cancel",
  retry: "Retry",
  downloading: "Downloading…",
  download: (size: string) => `Download (${size})`,
  continue: "Continue",
  starting: "Starting…",
  cancelling: "Cancelling…",
  checkingPart: (size: string) => `Checking what was already downloaded… ${size}`,
  checkingFile: "Checking the file…",
  left: (time: string) => ` · ${time} left`,
  progress: (percent: number, done: string, total: string, rate: string, left: string) => `${percent}% · ${done} of ${total}${rate}${left}`,
  added: (summary: string) => `Added: ${summary}`,
  partialNotDeleted: "The partial download could not be deleted.",
  pausedAt: (percent: number) => `Paused at ${percent}%`,
  figures: (size: string, memory: string, time: string) => `${size} · needs ${memory} of memory · ${time}`,
};

// Errors.

/** What went wrong and what to do, for each of the backend's error codes. */
export const ERROR_WORDS: Record<ErrorCode, string> = {
  "model.not_found": "The model file is missing. Choose another model in Settings, or download it again.",
  "model.none_installed": "No model is on this device yet. Download one in Settings.",
  "model.unreadable": "The model file can't be read. Check that it is still there, or download it again.",
  "model.wrong_format": "This file is not a model Murmur can use.",
  "model.truncated": "The model file is incomplete. Download or copy it again.",
  "model.damaged": "The model file is damaged. Download it again.",
  "model.unsupported": "Murmur can't run this kind of model. Choose another one.",
  "model.load_failed": "The model could not be loaded. Try again, or choose a smaller model in Settings.",
  "model.not_loaded": "The model is not ready yet. Wait a moment, then try again.",
  "llm.context": "There is not enough memory for a conversation this size. Choose a smaller conversation memory in Settings → Advanced, or close other apps.",
  "llm.template": "This question could not be prepared for the model. Try again in a new chat.",
  "llm.message_too_long": "This message is too long. Try a shorter one, or split it in two.",
  "llm.record_too_long": "This record is too long for the conversation. Attach the part with the results you want to ask about.",
  "llm.instructions_too_long": "The assistant's instructions are too long. Shorten them in Settings, or reset them to the default.",
  "llm.inference": "Something went wrong while the answer was written. Try again.",
  "asr.inference": "Your words could not be turned into text. Try again.",
  "audio.read": "This audio could not be read.",
  "audio.write": "The recording could not be saved.",
  "audio.empty": "The recording is empty. Try again.",
  "audio.resample": "The recording could not be prepared. Try again.",
  "mic.not_found": "No microphone was found. Connect one, or type your question.",
  "mic.permission_denied": "Murmur may not use the microphone. Allow it in your device's privacy settings, then try again.",
  "mic.busy": "Another app is using the microphone. Close it, then try again.",
  "mic.disconnected": "The microphone was disconnected. Connect it again, then try again.",
  "mic.unsupported_format": "This microphone can't be used. Try another one, or type your question.",
  "mic.backend": "The microphone could not be used. Try again, or type your question.",
  "catalog.unreadable": "The list of models could not be read. Reinstalling Murmur may help.",
  "catalog.invalid": "The list of models is damaged. Reinstalling Murmur may help.",
  "catalog.unknown_model": "Murmur does not know this model.",
  "download.bad_url": "This model can't be downloaded from its address.",
  "download.insecure": "This model's address is not secure, so it was not downloaded.",
  "download.http": "The server refused the download. Try again later.",
  "download.network": "The connection failed. Check it (Wi-Fi is best), then resume: nothing downloaded so far is lost.",
  "download.size_mismatch": "The server offers a different file than expected. Try again later.",
  "download.hash_mismatch": "The file arrived damaged and was deleted. Try again.",
  "download.disk_full": "Not enough free space on this device. Free some space, then try again.",
  "download.in_progress": "This model is already downloading.",
  "download.io": "The download could not be written to this device. Check the free space, then try again.",
  "import.not_a_model": "This file is not a model Murmur can use. Choose a GGUF language model (.gguf) or a whisper.cpp speech model (.bin).",
  "import.not_the_catalog_model": "This file is not the model it was meant to be.",
  "import.exists": "This model is already on this device.",
  "import.io": "The file could not be copied. Check the free space, then try again.",
  "store.io": "Murmur's model folder could not be read or changed.",
  "settings.invalid": "A setting is out of its range.",
  "settings.unreadable": "Your saved settings could not be read, so the defaults are used. Saving writes them again.",
  "settings.write": "The settings could not be saved. Check the free space, then try again.",
  "history.not_a_database": "Your saved conversations can't be opened (the file was left as it is). You can still chat.",
  "history.newer_schema": "Your saved conversations were written by a newer version of Murmur. Update Murmur to open them; you can still chat.",
  "history.read_only": "Your conversations can't be saved: the storage is read-only or full.",
  "history.corrupt": "Your saved conversations are damaged (the file was left as it is). You can still chat.",
  "history.not_found": "This conversation no longer exists.",
  "history.io": "Your saved conversations could not be read or written. Try again.",
  "input.invalid": "Murmur can't use this as it is.",
  "busy": "An answer is still being written. Wait for it, or press Stop.",
  "cancelled": "Stopped.",
  "worker.stopped": "The model stopped working. Load it again from Settings, or restart Murmur.",
};

/** An error of the UI itself, or a backend it could not reach. */
export const UNAVAILABLE = "Something went wrong inside Murmur. Try again; restarting Murmur may help.";

/** Codes whose technical message holds figures or a name that help the person: it is shown
 * as a small details line under the plain words. */
const DETAILED: ReadonlySet<string> = new Set<ErrorCode>([
  "settings.invalid", "input.invalid", "download.disk_full", "llm.record_too_long", "llm.message_too_long",
  "llm.instructions_too_long", "download.http",
]);

export interface ErrorWords {
  /** What happened and what to do, in plain words. */
  text: string;
  /** The backend's own message, as a small details line; null when the words say it all. */
  detail: string | null;
}

/** Plain words for an error `{code, message}`: the code's words, or the message itself when the
 * code is unknown here. */
export function describeError(e: { code: string; message: string }): ErrorWords {
  // Not the backend's: the window could not reach it, or the UI failed.
  if (e.code === "ui.unavailable") return { text: UNAVAILABLE, detail: e.message || null };
  const words = (ERROR_WORDS as Record<string, string | undefined>)[e.code];
  if (!words) return { text: e.message || "Something went wrong.", detail: null };
  const detail = DETAILED.has(e.code) && e.message && e.message !== words ? e.message : null;
  return { text: words, detail };
}

/** The plain words alone (for a short status line). */
export function errorText(e: { code: string; message: string }): string {
  return describeError(e).text;
}
