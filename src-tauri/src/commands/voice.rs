//! The microphone: a voice turn (listen → transcript → answer), stopped or cancelled.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use murmur_engine::asr::ListenOptions;
use murmur_engine::audio::capture::Capture;
use murmur_engine::voice::{voice_turn, AskFn, VoiceTurnEvent, VoiceTurnOptions};
use murmur_engine::{EngineError, Sink};
use tauri::ipc::Channel;
use tauri::{Manager, State};

use super::{CmdResult, FRAME};
use crate::platform;
use crate::state::{lock, AppState};

/// Starts listening on the microphone; partial transcripts, the final one and the answer
/// stream on `events`. `answer`: answer the transcript (auto-send), or stop after it.
#[tauri::command]
#[specta::specta]
pub async fn voice_start<R: tauri::Runtime>(app: tauri::AppHandle<R>, state: State<'_, AppState>, answer: bool, events: Channel<VoiceTurnEvent>) -> CmdResult<()> {
    platform::ensure_microphone(&app)?;
    let (llm, asr) = (state.llm()?, state.asr()?);
    if lock(&state.voice).is_some() {
        voice_cancel(state.clone())?;
    }
    // One answer at a time, typed or spoken; Stop (chat_stop) also ends a voice turn.
    let (_, streaming) = state.begin_answer()?;
    let input = Capture::start(None).map_err(|e| EngineError::from_coded(&e))?;
    let settings = state.settings();
    // The spoken question is saved in the open conversation (created when it is asked).
    let ask_app = app.clone();
    let ask_llm = llm.clone();
    let ask: Arc<AskFn> = Arc::new(move |text, sampling, cancel, sink| {
        let state = ask_app.state::<AppState>();
        match state.saved_conversation()? {
            Some((history, id)) => history.ask(&ask_llm, id, &text, sampling, cancel, sink).map(|_saving| ()),
            None => ask_llm.send(text, sampling, cancel, sink).map_err(|e| EngineError::from_coded(&e)),
        }
    });
    let options = VoiceTurnOptions { listen: ListenOptions::default(), sampling: settings.sampling(), prime: answer, prefill_partial: answer, answer, ask: Some(ask) };
    let sink = Sink::coalescing(FRAME, move |e: VoiceTurnEvent| {
        let end = murmur_engine::stream::StreamEvent::is_terminal(&e);
        if end {
            streaming.store(false, Ordering::Release);
        }
        let _ = events.send(e);
    });
    let turn = voice_turn(llm, asr, Box::new(input), options, sink).map_err(|e| EngineError::from_coded(&e))?;
    *lock(&state.voice) = Some(turn);
    Ok(())
}

/// The person released the mic button (or tapped it again): finish and transcribe.
#[tauri::command]
#[specta::specta]
pub fn voice_stop(state: State<'_, AppState>) -> CmdResult<()> {
    if let Some(turn) = lock(&state.voice).as_ref() {
        turn.stop();
    }
    Ok(())
}

/// Cancel listening (no transcript) or the spoken question's answer.
#[tauri::command]
#[specta::specta]
pub fn voice_cancel(state: State<'_, AppState>) -> CmdResult<()> {
    if let Some(turn) = lock(&state.voice).take() {
        turn.cancel();
    }
    Ok(())
}
