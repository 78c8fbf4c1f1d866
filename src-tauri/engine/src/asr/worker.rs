//! The Whisper worker: one thread owns the whisper.cpp context and state; callers submit audio
//! and get the transcript back on a channel. Jobs run one at a time, in order.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;

use super::{AsrError, TranscribeOptions, Transcriber, Transcript, WhisperModelInfo};
use crate::CancelToken;

type Reply = Sender<Result<Transcript, AsrError>>;

struct Job {
    pcm: Vec<f32>,
    options: TranscribeOptions,
    cancel: CancelToken,
    reply: Reply,
}

/// A cheap, clonable handle for submitting audio to the worker.
#[derive(Clone, Debug)]
pub struct AsrClient {
    tx: Sender<Job>,
}

impl AsrClient {
    /// Queues `pcm` (16 kHz mono); the result arrives on the returned receiver.
    pub fn submit(&self, pcm: Vec<f32>, options: TranscribeOptions, cancel: CancelToken) -> Result<Receiver<Result<Transcript, AsrError>>, AsrError> {
        let (reply, rx) = channel();
        self.tx.send(Job { pcm, options, cancel, reply }).map_err(|_| AsrError::WorkerGone)?;
        Ok(rx)
    }

    /// Transcribes and waits for the result.
    pub fn transcribe(&self, pcm: Vec<f32>, options: TranscribeOptions) -> Result<Transcript, AsrError> {
        self.submit(pcm, options, CancelToken::new())?.recv().map_err(|_| AsrError::WorkerGone)?
    }
}

/// Owns the worker thread; dropping it ends the thread after the queued jobs.
pub struct AsrWorker {
    client: Option<AsrClient>,
    handle: Option<JoinHandle<()>>,
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
        let (tx, rx) = channel::<Job>();
        let (ready_tx, ready_rx) = channel();
        let handle = std::thread::Builder::new()
            .name("murmur-asr".into())
            .spawn(move || {
                let mut t = match Transcriber::load(&path) {
                    Ok(t) => {
                        let _ = ready_tx.send(Ok(t.info().clone()));
                        t
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for job in rx {
                    let result = if job.cancel.is_cancelled() {
                        Err(AsrError::Cancelled)
                    } else {
                        t.transcribe_cancellable(&job.pcm, &job.options, &job.cancel)
                    };
                    let _ = job.reply.send(result);
                }
            })
            .map_err(|e| AsrError::Inference(format!("cannot start the speech thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(info)) => Ok(Self { client: Some(AsrClient { tx }), handle: Some(handle), info }),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => Err(AsrError::WorkerGone),
        }
    }

    pub fn info(&self) -> &WhisperModelInfo {
        &self.info
    }

    pub fn client(&self) -> AsrClient {
        match &self.client {
            Some(c) => c.clone(),
            None => unreachable!("the client is only taken in drop"),
        }
    }
}

impl Drop for AsrWorker {
    fn drop(&mut self) {
        drop(self.client.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
