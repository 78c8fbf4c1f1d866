//! Rendering a conversation with the model's own chat template.
//!
//! The template comes from the GGUF metadata (`tokenizer.chat_template`) and is applied by
//! llama.cpp; a model without a template, or with one llama.cpp does not recognise, gets
//! Qwen's ChatML.

use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use serde::{Deserialize, Serialize};

use super::LlmError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into() }
    }
}

/// How a model's conversations are turned into text.
#[derive(Debug)]
pub struct ChatFormat {
    template: Option<LlamaChatTemplate>,
}

impl ChatFormat {
    pub fn for_model(model: &LlamaModel) -> Self {
        let template = match model.chat_template(None) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!("model has no usable chat template ({e}); using ChatML");
                None
            }
        };
        let format = Self { template };
        // Probe once: llama.cpp only knows a fixed set of template families.
        if let Some(t) = &format.template {
            let probe = [Message::new(Role::User, "hi")];
            if Self::apply(model, t, &probe, true).is_err() {
                tracing::warn!("llama.cpp does not recognise this model's chat template; using ChatML");
                return Self { template: None };
            }
        }
        format
    }

    /// The prompt text for `messages`; `add_assistant` opens the assistant's turn.
    pub fn render(&self, model: &LlamaModel, messages: &[Message], add_assistant: bool) -> Result<String, LlmError> {
        match &self.template {
            Some(t) => Self::apply(model, t, messages, add_assistant),
            None => Ok(chatml(messages, add_assistant)),
        }
    }

    fn apply(
        model: &LlamaModel,
        template: &LlamaChatTemplate,
        messages: &[Message],
        add_assistant: bool,
    ) -> Result<String, LlmError> {
        let chat = messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LlmError::Template(e.to_string()))?;
        model
            .apply_chat_template(template, &chat, add_assistant)
            .map_err(|e| LlmError::Template(e.to_string()))
    }
}

/// Qwen's ChatML, the fallback.
pub fn chatml(messages: &[Message], add_assistant: bool) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str("<|im_start|>");
        out.push_str(m.role.as_str());
        out.push('\n');
        out.push_str(&m.content);
        out.push_str("<|im_end|>\n");
    }
    if add_assistant {
        out.push_str("<|im_start|>assistant\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_layout() {
        let m = [Message::new(Role::System, "S"), Message::new(Role::User, "U")];
        assert_eq!(
            chatml(&m, true),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
        );
    }
}
