//! The loaded models of the open conversation: load (one at a time, the old one unloaded
//! first), put the conversation back into a new model, restart a model whose thread died.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::busy::lock;
use super::Controller;
use crate::asr::{AsrClient, AsrWorker};
use crate::llm::{LlmClient, LlmWorker, SessionOptions};
use crate::models::Role;
use crate::store::ModelKey;
use crate::{CancelToken, EngineError, ErrorCode};

/// What the loaded models are doing, for the app to broadcast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ModelEvent {
    Loading { role: Role, id: String },
    Loaded { role: Role, id: String },
    Failed { role: Role, error: EngineError },
    Unloaded { role: Role },
}

/// A language model to load: its id (catalog id or file name), file and context settings.
#[derive(Clone, Debug)]
pub struct LlmSpec {
    pub id: String,
    pub path: PathBuf,
    pub options: SessionOptions,
}

impl LlmSpec {
    fn same(&self, other: &Self) -> bool {
        self.id == other.id && self.path == other.path && serde_json::to_value(&self.options).ok() == serde_json::to_value(&other.options).ok()
    }
}

/// A speech model to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsrSpec {
    pub id: String,
    pub path: PathBuf,
}

pub(crate) struct LoadedLlm {
    pub(crate) worker: LlmWorker,
    pub(crate) spec: LlmSpec,
}

#[derive(Default)]
pub(crate) struct Models {
    pub(crate) llm: Option<LoadedLlm>,
    pub(crate) asr: Option<(AsrWorker, AsrSpec)>,
}

fn not_loaded(what: &str) -> EngineError {
    EngineError::new(ErrorCode::ModelNotLoaded, format!("the {what} model is not loaded yet"))
}

impl Controller {
    /// Loads the language model of `spec`, unless it is loaded already with the same settings.
    /// The model loaded before is unloaded first (two never share memory), one load runs at a
    /// time (a second waits, then finds the model loaded), and the open conversation (its
    /// instructions, record, turns and saved cache) is put back into the new model.
    pub fn load_llm(self: &Arc<Self>, spec: LlmSpec) -> Result<(), EngineError> {
        let _one_at_a_time = lock(&self.loading);
        if lock(&self.models).llm.as_ref().is_some_and(|l| l.spec.same(&spec) && l.worker.is_alive()) {
            return Ok(());
        }
        self.stop();
        self.settle_previous();
        self.leave();
        let old = lock(&self.models).llm.take();
        drop(old);
        (self.on_model)(ModelEvent::Loading { role: Role::Llm, id: spec.id.clone() });
        match LlmWorker::spawn(spec.path.clone(), spec.options.clone()) {
            Ok(worker) => {
                let client = worker.client();
                let key = ModelKey { fingerprint: *worker.fingerprint(), n_ctx: worker.n_ctx() };
                let id = spec.id.clone();
                lock(&self.models).llm = Some(LoadedLlm { worker, spec });
                self.put_back(&client, &key);
                (self.on_model)(ModelEvent::Loaded { role: Role::Llm, id });
                Ok(())
            }
            Err(e) => {
                let error = EngineError::from_coded(&e);
                (self.on_model)(ModelEvent::Failed { role: Role::Llm, error: error.clone() });
                Err(error)
            }
        }
    }

    /// Loads the speech model of `spec` (unless it is loaded).
    pub fn load_asr(&self, spec: AsrSpec) -> Result<(), EngineError> {
        let _one_at_a_time = lock(&self.loading);
        if lock(&self.models).asr.as_ref().is_some_and(|(w, s)| *s == spec && w.is_alive()) {
            return Ok(());
        }
        self.busy.cancel_voice();
        let old = lock(&self.models).asr.take();
        drop(old);
        (self.on_model)(ModelEvent::Loading { role: Role::Asr, id: spec.id.clone() });
        match AsrWorker::spawn(spec.path.clone()) {
            Ok(worker) => {
                let id = spec.id.clone();
                lock(&self.models).asr = Some((worker, spec));
                (self.on_model)(ModelEvent::Loaded { role: Role::Asr, id });
                Ok(())
            }
            Err(e) => {
                let error = EngineError::from_coded(&e);
                (self.on_model)(ModelEvent::Failed { role: Role::Asr, error: error.clone() });
                Err(error)
            }
        }
    }

    /// Unloads the model of `role` if it is the one named `id` (before its file is deleted).
    pub fn unload(&self, role: Role, id: &str) {
        let _one_at_a_time = lock(&self.loading);
        match role {
            Role::Llm => {
                if lock(&self.models).llm.as_ref().is_some_and(|l| l.spec.id == id) {
                    self.stop();
                    self.settle_previous();
                    self.leave();
                    let old = lock(&self.models).llm.take();
                    drop(old);
                    (self.on_model)(ModelEvent::Unloaded { role });
                }
            }
            Role::Asr => {
                if lock(&self.models).asr.as_ref().is_some_and(|(_, s)| s.id == id) {
                    self.busy.cancel_voice();
                    let old = lock(&self.models).asr.take();
                    drop(old);
                    (self.on_model)(ModelEvent::Unloaded { role });
                }
            }
        }
    }

    /// The ids of the loaded language and speech models.
    pub fn loaded(&self) -> (Option<String>, Option<String>) {
        let models = lock(&self.models);
        (models.llm.as_ref().map(|l| l.spec.id.clone()), models.asr.as_ref().map(|(_, s)| s.id.clone()))
    }

    /// The loaded language model's settings, if one is loaded.
    pub fn llm_spec(&self) -> Option<LlmSpec> {
        lock(&self.models).llm.as_ref().map(|l| l.spec.clone())
    }

    /// A handle to the loaded language model (an error if there is none, or its thread died).
    pub(crate) fn llm(&self) -> Result<LlmClient, EngineError> {
        match lock(&self.models).llm.as_ref() {
            None => Err(not_loaded("language")),
            Some(l) if !l.worker.is_alive() => Err(EngineError::new(ErrorCode::WorkerStopped, "the language model stopped unexpectedly")),
            Some(l) => Ok(l.worker.client()),
        }
    }

    /// As [`Self::llm`], loading the model again first if its thread died (the conversation
    /// is put back): one failure does not leave every later question failing.
    pub(crate) fn ready_llm(self: &Arc<Self>) -> Result<LlmClient, EngineError> {
        let dead = {
            let models = lock(&self.models);
            match models.llm.as_ref() {
                Some(l) if !l.worker.is_alive() => Some(l.spec.clone()),
                _ => None,
            }
        };
        if let Some(spec) = dead {
            tracing::warn!("the language model's thread stopped: loading it again");
            self.load_llm(spec)?;
        }
        self.llm()
    }

    pub(crate) fn model_key(&self) -> Result<ModelKey, EngineError> {
        lock(&self.models)
            .llm
            .as_ref()
            .map(|l| ModelKey { fingerprint: *l.worker.fingerprint(), n_ctx: l.worker.n_ctx() })
            .ok_or_else(|| not_loaded("language"))
    }

    pub(crate) fn asr(&self) -> Result<AsrClient, EngineError> {
        match lock(&self.models).asr.as_ref() {
            None => Err(not_loaded("speech")),
            Some((w, _)) if !w.is_alive() => Err(EngineError::new(ErrorCode::WorkerStopped, "the speech model stopped unexpectedly: load it again")),
            Some((w, _)) => Ok(w.client()),
        }
    }

    /// A new model gets the open conversation: instructions, then the saved conversation
    /// (record, turns with their answer ids, cache if it matches) or, for one not saved yet,
    /// its record; then it reads the system message ahead of the first question.
    fn put_back(&self, llm: &LlmClient, key: &ModelKey) {
        let (instructions, conversation, record) = {
            let open = lock(&self.open);
            (open.instructions.clone(), open.conversation, open.record.clone())
        };
        let _ = llm.set_system_prompt(instructions);
        let resumed = match (conversation, self.history.as_ref()) {
            (Some(id), Ok(history)) => match history.resume(llm, key, id) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(code = ?e.code, "the open conversation could not be put back into the model");
                    None
                }
            },
            _ => None,
        };
        match resumed {
            Some(r) => lock(&self.open).record = r.conversation.record,
            None => {
                if conversation.is_some() {
                    // Gone from the history: a new conversation, keeping the record.
                    lock(&self.open).conversation = None;
                }
                let _ = llm.set_record(record);
            }
        }
        let _ = llm.prime(CancelToken::new());
    }
}
