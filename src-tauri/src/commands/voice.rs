//! The microphone: a voice turn (listen → transcript → answer), stopped or cancelled.

use murmur_engine::asr::{AudioInput, ListenOptions};
use murmur_engine::audio::capture::Capture;
use murmur_engine::voice::VoiceTurnEvent;
use murmur_engine::{EngineError, Sink};
use tauri::ipc::Channel;
use tauri::State;

use super::{blocking, CmdResult, FRAME};
use crate::platform;
use crate::state::AppState;

/// Starts listening on the microphone; partial transcripts, the final one and the answer
/// stream on `events`. `answer`: answer the transcript (auto-send), or stop after it.
#[tauri::command]
#[specta::specta]
pub async fn voice_start<R: tauri::Runtime>(app: tauri::AppHandle<R>, state: State<'_, AppState>, answer: bool, events: Channel<VoiceTurnEvent>) -> CmdResult<()> {
    platform::ensure_microphone(&app)?;
    let (chat, sampling) = (state.chat.clone(), state.settings().sampling());
    let sink = Sink::coalescing(FRAME, move |e: VoiceTurnEvent| {
        let _ = events.send(e);
    });
    let open_microphone = || Capture::start(None).map(|c| Box::new(c) as Box<dyn AudioInput>).map_err(|e| EngineError::from_coded(&e));
    blocking(move || chat.voice_start(open_microphone, answer, sampling, ListenOptions::default(), sink)).await
}

/// The person released the mic button (or tapped it again): finish and transcribe.
#[tauri::command]
#[specta::specta]
pub fn voice_stop(state: State<'_, AppState>) -> CmdResult<()> {
    state.chat.voice_stop();
    Ok(())
}

/// Cancel listening (no transcript) or the spoken question's answer.
#[tauri::command]
#[specta::specta]
pub fn voice_cancel(state: State<'_, AppState>) -> CmdResult<()> {
    state.chat.voice_cancel();
    Ok(())
}
