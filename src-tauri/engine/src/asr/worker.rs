//! The Whisper worker: one thread owns the whisper.cpp context and state (the engine's
//! [`Worker`] pattern); callers submit audio and get the transcript back on a channel. Jobs
//! run one at a time, in order. Dropping the worker aborts the job in flight and discards the
//! queue, also while [`AsrClient`] clones live (their later submissions fail with
//! `WorkerError::Stopped`).

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};

use super::{AsrError, TranscribeOptions, Transcriber, Transcript, WhisperModelInfo};
use crate::worker::{Client, Ready, Worker, WorkerError};
use crate::CancelToken;

type Reply = Sender<Result<Transcript, AsrError>>;

/// A transcription request.
pub struct Job {
    pcm: Vec<f32>,
    options: TranscribeOptions,
    reply: Reply,
}

/// A cheap, clonable handle for submitting audio to the worker.
#[derive(Clone, Debug)]
pub struct AsrClient {
    client: Client<Job>,
    /// The model's encoder layers (4 for tiny, 6 for base, …): sizes that want different
    /// silence around the speech ([`super::live::default_padding`]).
    audio_layers: i32,
}

impl AsrClient {
    /// Queues `pcm` (16 kHz mono); the result arrives on the returned receiver. `cancel`
    /// aborts whisper.cpp mid-decode (`AsrError::Cancelled`).
    pub fn submit(&self, pcm: Vec<f32>, options: TranscribeOptions, cancel: CancelToken) -> Result<Receiver<Result<Transcript, AsrError>>, AsrError> {
        let (reply, rx) = channel();
        self.client.submit(Job { pcm, options, reply }, cancel)?;
        Ok(rx)
    }

    /// The loaded model's encoder layers.
    pub fn audio_layers(&self) -> i32 {
        self.audio_layers
    }

    /// Transcribes and waits for the result.
    pub fn transcribe(&self, pcm: Vec<f32>, options: TranscribeOptions) -> Result<Transcript, AsrError> {
        wait(self.submit(pcm, options, CancelToken::new())?)
    }
}

/// Waits for a submitted job (a worker that stopped is `WorkerError::Stopped`).
pub fn wait(rx: Receiver<Result<Transcript, AsrError>>) -> Result<Transcript, AsrError> {
    rx.recv().map_err(|_| AsrError::Worker(WorkerError::Stopped("asr")))?
}

/// Owns the worker thread; dropping it aborts the job in flight and ends the thread.
pub struct AsrWorker {
    worker: Worker<Job>,
    info: WhisperModelInfo,
}

impl std::fmt::Debug for AsrWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsrWorker").field("info", &self.info).finish_non_exhaustive()
    }
}

impl AsrWorker {
    /// Starts the thread and loads the model on it; returns once it is ready (or failed).
    pub fn spawn(path: PathBuf) -> Result<Self, AsrError> {
        let (worker, info) = Worker::spawn("asr", move |ready: Ready<WhisperModelInfo, AsrError>, inbox| {
            let mut t = match Transcriber::load(&path) {
                Ok(t) => t,
                Err(e) => return ready.fail(e),
            };
            ready.ok(t.info().clone());
            while let Some(job) = inbox.next() {
                let Job { pcm, options, reply } = job.request;
                let result = if job.cancel.is_cancelled() { Err(AsrError::Cancelled) } else { t.transcribe_cancellable(&pcm, &options, &job.cancel) };
                let _ = reply.send(result);
            }
        })?;
        Ok(Self { worker, info })
    }

    pub fn info(&self) -> &WhisperModelInfo {
        &self.info
    }

    pub fn client(&self) -> AsrClient {
        AsrClient { client: self.worker.client(), audio_layers: self.info.n_audio_layer }
    }

    /// Whether the thread is still running.
    pub fn is_alive(&self) -> bool {
        self.worker.is_alive()
    }
}
