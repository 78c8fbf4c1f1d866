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
pub async fn conversations_list(state: State<'_, AppState>, query: Option<String>) -> CmdResult<Vec<ConversationSummary>> {
    let history = state.chat.history()?;
    blocking(move || history.db.list(query.as_deref()).map_err(coded)).await
}

/// The conversation open in the chat (`None`: a new one, saved with its first question).
#[tauri::command]
#[specta::specta]
pub async fn conversation_current(state: State<'_, AppState>) -> CmdResult<Option<ConversationId>> {
    let chat = state.chat.clone();
    blocking(move || Ok(chat.current())).await
}

/// Opens a saved conversation in the chat: the model gets its record and turns back, and its
/// saved KV cache if it matches the loaded model (otherwise the next question reads it again).
#[tauri::command]
#[specta::specta]
pub async fn conversation_open(state: State<'_, AppState>, id: ConversationId) -> CmdResult<ConversationView> {
    let chat = state.chat.clone();
    let resumed = blocking(move || chat.open(id)).await?;
    Ok(ConversationView { conversation: resumed.conversation, cache_restored: resumed.cache_restored })
}

#[tauri::command]
#[specta::specta]
pub async fn conversation_rename(state: State<'_, AppState>, id: ConversationId, title: String) -> CmdResult<()> {
    let title = title.trim().to_string();
    if title.is_empty() {
        return Err(invalid("the title is empty"));
    }
    if title.chars().count() > 200 {
        return Err(invalid("the title is longer than 200 characters"));
    }
    let history = state.chat.history()?;
    blocking(move || history.db.rename(id, &title).map_err(coded)).await
}

/// Deletes a conversation: its messages, its record and its cache file. If it is open, the
/// chat starts a new conversation without the record.
#[tauri::command]
#[specta::specta]
pub async fn conversation_delete(state: State<'_, AppState>, id: ConversationId) -> CmdResult<()> {
    let chat = state.chat.clone();
    blocking(move || chat.delete(id)).await
}

/// Writes the conversation as Markdown to `path`, which must be the file the person chose in
/// the save dialog (the dialog grants that one path).
#[tauri::command]
#[specta::specta]
pub async fn conversation_export<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, id: ConversationId, path: std::path::PathBuf) -> CmdResult<()> {
    if !app.try_fs_scope().is_some_and(|scope| scope.is_allowed(&path)) {
        return Err(invalid("choose where to save the conversation with the save dialog"));
    }
    let history = state.chat.history()?;
    blocking(move || {
        let md = export::markdown(&history.db.get(id).map_err(coded)?);
        std::fs::write(&path, md).map_err(|e| invalid(format!("the conversation could not be saved to {}: {e}", path.display())))
    })
    .await
}

/// Deletes every conversation, record, cache file and setting; the models stay.
#[tauri::command]
#[specta::specta]
pub async fn data_delete_all(state: State<'_, AppState>) -> CmdResult<()> {
    let (chat, settings_file) = (state.chat.clone(), state.dirs.settings_file());
    blocking(move || {
        chat.delete_all()?;
        match std::fs::remove_file(&settings_file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(invalid(format!("the settings file could not be deleted: {e}"))),
        }
    })
    .await?;
    *lock(&state.settings) = murmur_engine::settings::Settings::default();
    Ok(())
}
