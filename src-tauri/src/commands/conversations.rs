//! Saved conversations: the list, open (resuming the model from the saved KV cache), rename,
//! delete, export as Markdown to a file the person picked, and "delete all my data".

use murmur_engine::store::{export, Conversation, ConversationId, ConversationSummary};
use murmur_engine::EngineError;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_fs::FsExt;

use super::{blocking, invalid, CmdResult};
use crate::state::{lock, AppState};

fn coded<E: murmur_engine::error::Coded + std::error::Error>(e: E) -> EngineError {
    EngineError::from_coded(&e)
}

/// An opened conversation.
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type)]
pub struct ConversationView {
    pub conversation: Conversation,
    /// Its saved KV cache was loaded: the next question reads only itself.
    pub cache_restored: bool,
}

/// Saved conversations, most recent first; with `query`, those whose title or messages
/// contain it.
#[tauri::command]
#[specta::specta]
pub fn conversations_list(state: State<'_, AppState>, query: Option<String>) -> CmdResult<Vec<ConversationSummary>> {
    state.history()?.db.list(query.as_deref()).map_err(coded)
}

/// The conversation open in the chat (`None`: a new one, saved with its first question).
#[tauri::command]
#[specta::specta]
pub fn conversation_current(state: State<'_, AppState>) -> Option<ConversationId> {
    *lock(&state.conversation)
}

/// Opens a saved conversation in the chat: the model gets its record and turns back, and its
/// saved KV cache if it matches the loaded model (otherwise the next question reads it again).
#[tauri::command]
#[specta::specta]
pub async fn conversation_open(state: State<'_, AppState>, id: ConversationId) -> CmdResult<ConversationView> {
    super::chat::stop_all(&state);
    let history = state.history()?;
    let llm = state.llm()?;
    let key = state.llm_key()?;
    let resumed = blocking(move || history.resume(&llm, &key, id)).await?;
    *lock(&state.record) = resumed.conversation.record.clone();
    *lock(&state.conversation) = Some(id);
    Ok(ConversationView { conversation: resumed.conversation, cache_restored: resumed.cache_restored })
}

#[tauri::command]
#[specta::specta]
pub fn conversation_rename(state: State<'_, AppState>, id: ConversationId, title: String) -> CmdResult<()> {
    let title = title.trim();
    if title.is_empty() {
        return Err(invalid("the title is empty"));
    }
    if title.chars().count() > 200 {
        return Err(invalid("the title is longer than 200 characters"));
    }
    state.history()?.db.rename(id, title).map_err(coded)
}

/// Deletes a conversation: its messages, its record and its cache file. If it is open, the
/// chat starts a new conversation without the record.
#[tauri::command]
#[specta::specta]
pub fn conversation_delete(state: State<'_, AppState>, id: ConversationId) -> CmdResult<()> {
    let open = *lock(&state.conversation) == Some(id);
    if open {
        super::chat::stop_all(&state);
    }
    state.history()?.delete(id).map_err(coded)?;
    if open {
        forget_open_conversation(&state)?;
    }
    Ok(())
}

/// Writes the conversation as Markdown to `path`, which must be the file the person chose in
/// the save dialog (the dialog grants that one path).
#[tauri::command]
#[specta::specta]
pub fn conversation_export<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, id: ConversationId, path: std::path::PathBuf) -> CmdResult<()> {
    if !app.try_fs_scope().is_some_and(|scope| scope.is_allowed(&path)) {
        return Err(invalid("choose where to save the conversation with the save dialog"));
    }
    let md = export::markdown(&state.history()?.db.get(id).map_err(coded)?);
    std::fs::write(&path, md).map_err(|e| invalid(format!("the conversation could not be saved to {}: {e}", path.display())))
}

/// Deletes every conversation, record, cache file and setting; the models stay.
#[tauri::command]
#[specta::specta]
pub fn data_delete_all(state: State<'_, AppState>) -> CmdResult<()> {
    super::chat::stop_all(&state);
    state.history()?.delete_all().map_err(coded)?;
    match std::fs::remove_file(state.dirs.settings_file()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(invalid(format!("the settings file could not be deleted: {e}"))),
    }
    let defaults = murmur_engine::settings::Settings::default();
    *lock(&state.settings) = defaults;
    if let Ok(llm) = state.llm() {
        llm.set_system_prompt(None).map_err(coded)?;
    }
    forget_open_conversation(&state)
}

/// A new, empty conversation in the model, with no record.
fn forget_open_conversation(state: &AppState) -> CmdResult<()> {
    *lock(&state.conversation) = None;
    *lock(&state.record) = None;
    if let Ok(llm) = state.llm() {
        llm.clear_history().map_err(coded)?;
        llm.set_record(None).map_err(coded)?;
    }
    Ok(())
}
