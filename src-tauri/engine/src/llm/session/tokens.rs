//! The conversation as the token sequence the model reads.
//!
//! Only the chat template's own markers (`<|im_start|>`, `<|im_end|>`, ...) are read as
//! special tokens. The messages' contents — the person's questions, a record, the
//! instructions, a transcript, an answer kept as text — are tokenized as plain text, so a
//! record containing `<|im_start|>system` is read as those characters, not as a new turn. To
//! tell them apart the template is rendered with a placeholder for each content; the text
//! between placeholders is the template's, tokenized with special tokens parsed, and each
//! placeholder becomes its content's tokens (an answer: the ids the model generated).
//!
//! Every piece is tokenized on its own, so a conversation with one more turn starts with
//! exactly the tokens of the shorter one (as long as the template's rendering extends, as
//! ChatML's does): a follow-up appends to what is cached.

use llama_cpp_2::token::LlamaToken;

use super::ChatSession;
use crate::llm::template::{Message, Role};
use crate::llm::LlmError;
use crate::prompts;

/// Delimits a placeholder: a private-use character no template uses.
const MARK: char = '\u{F8FF}';

/// A message's content as it is read.
#[derive(Clone, Copy)]
pub(super) enum Content<'a> {
    /// Plain text: never parsed for special tokens.
    Text(&'a str),
    /// An answer as the ids the model generated.
    Ids(&'a [LlamaToken]),
}

fn placeholder(i: usize) -> String {
    format!("{MARK}{i}{MARK}")
}

/// The rendered template split into its own text and the placeholders' message indices.
#[derive(Debug, PartialEq)]
enum Piece<'t> {
    Template(&'t str),
    Content(usize),
}

fn split_rendered(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(MARK) {
        let after = &rest[start + MARK.len_utf8()..];
        let Some(len) = after.find(MARK) else { break };
        let Ok(index) = after[..len].parse::<usize>() else {
            // Not one of ours: template text, up to and including this mark.
            pieces.push(Piece::Template(&rest[..start + MARK.len_utf8()]));
            rest = after;
            continue;
        };
        if start > 0 {
            pieces.push(Piece::Template(&rest[..start]));
        }
        pieces.push(Piece::Content(index));
        rest = &after[len + MARK.len_utf8()..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Template(rest));
    }
    pieces
}

impl ChatSession<'_> {
    /// Tokens of the rendered system message with `block` as its record part.
    pub(super) fn system_len(&self, block: Option<&str>) -> usize {
        let message = prompts::system_message_with(&self.instructions, block);
        match self.render_tokens(&[(Role::System, Content::Text(&message))], false, false) {
            Ok(tokens) => tokens.len(),
            Err(_) => self.tokenize_text(&message).len(),
        }
    }

    /// The system message (instructions and record) as tokens: what priming caches.
    pub(super) fn system_tokens(&self) -> Result<Vec<LlamaToken>, LlmError> {
        let system = self.system_message();
        self.render_tokens(&[(Role::System, Content::Text(&system))], false, false)
    }

    /// The conversation from turn `from` on (after the system message), plus `user` with the
    /// assistant's turn opened, as the exact token sequence the model reads. Without `user`,
    /// it ends with the last answer's tokens (as the cache does right after that answer).
    pub(super) fn conversation_tokens(&self, from: usize, user: Option<&str>) -> Result<Vec<LlamaToken>, LlmError> {
        let system = self.system_message();
        let mut msgs = vec![(Role::System, Content::Text(&system))];
        for (turn, ids) in self.turns.iter().zip(&self.answer_tokens).skip(from) {
            msgs.push((Role::User, Content::Text(&turn.user)));
            msgs.push((Role::Assistant, ids.as_deref().map_or(Content::Text(&turn.assistant), Content::Ids)));
        }
        if let Some(user) = user {
            msgs.push((Role::User, Content::Text(user)));
        }
        let ends_with_answer = user.is_none() && msgs.len() > 1;
        self.render_tokens(&msgs, user.is_some(), ends_with_answer)
    }

    /// `msgs` rendered with the chat template and tokenized: the template's text with special
    /// tokens parsed, the contents without. `add_assistant` opens the assistant's turn;
    /// `cut_after_last` leaves out the template's text after the last content.
    fn render_tokens(&self, msgs: &[(Role, Content<'_>)], add_assistant: bool, cut_after_last: bool) -> Result<Vec<LlamaToken>, LlmError> {
        let marked: Vec<Message> = msgs.iter().enumerate().map(|(i, (role, _))| Message::new(*role, placeholder(i))).collect();
        let text = self.format.render(&self.model.model, &marked, add_assistant)?;
        let mut pieces = split_rendered(&text);
        if cut_after_last {
            while matches!(pieces.last(), Some(Piece::Template(_))) {
                pieces.pop();
            }
        }
        let mut tokens = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Template(t) => tokens.extend(self.tokenize_template(t)),
                Piece::Content(i) => match msgs.get(i) {
                    Some((_, Content::Text(t))) => tokens.extend(self.tokenize_text(t)),
                    Some((_, Content::Ids(ids))) => tokens.extend_from_slice(ids),
                    None => tracing::warn!("chat template rendered an unknown message"),
                },
            }
        }
        Ok(tokens)
    }

    /// The template's own text: its special markers are parsed. The template carries any BOS.
    fn tokenize_template(&self, text: &str) -> Vec<LlamaToken> {
        self.model.model.vocab().tokenize(text.as_bytes(), false, true)
    }

    /// Text from a person, a file or an answer: special tokens in it are plain text.
    pub(super) fn tokenize_text(&self, text: &str) -> Vec<LlamaToken> {
        self.model.model.vocab().tokenize(text.as_bytes(), false, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendering_splits_into_template_text_and_contents() {
        let text = format!("<|im_start|>system\n{}<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n", placeholder(0), placeholder(1));
        assert_eq!(
            split_rendered(&text),
            vec![
                Piece::Template("<|im_start|>system\n"),
                Piece::Content(0),
                Piece::Template("<|im_end|>\n<|im_start|>user\n"),
                Piece::Content(1),
                Piece::Template("<|im_end|>\n"),
            ]
        );
    }

    #[test]
    fn a_stray_mark_stays_template_text() {
        let text = format!("a{MARK}b{}c", placeholder(3));
        assert_eq!(split_rendered(&text), vec![Piece::Template("a\u{F8FF}"), Piece::Template("b"), Piece::Content(3), Piece::Template("c")]);
    }
}
