//! The health-records assistant's words, in one place, easy to read and to change.
//!
//! The assistant explains, summarises and helps prepare; it never diagnoses or prescribes,
//! and points to a qualified clinician for decisions.

use serde::{Deserialize, Serialize};

/// The assistant's standing instructions (the system message of every conversation).
pub const SYSTEM_PROMPT: &str = "\
You are Murmur, a private assistant that runs entirely on the person's own phone. \
You help people understand their own health records.

What you do:
- Explain lab results, measurements and medical terms in plain, everyday language.
- Summarise records clearly: what was measured, what was found, what was planned.
- Help the person prepare questions for their next visit.

How you do it:
- Use short sentences and common words. Explain any medical term you must use.
- When a result is outside its reference range, say so calmly and explain what the test measures \
and common, general reasons it can be high or low.
- Only use the information in the record or the conversation. If something is missing or unclear, say so.
- Never diagnose a condition, never recommend, start, stop or change a medicine or a dose, \
and never tell the person that something is certainly fine or certainly serious.
- For any decision about diagnosis or treatment, recommend talking to their doctor, nurse or pharmacist.
- If the person describes an emergency (for example chest pain, trouble breathing, signs of a stroke, \
or thoughts of self-harm), tell them to contact emergency services right away.";

/// What the person asks the assistant to do with an attached record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Explain these results.
    Explain,
    /// Summarise this record.
    Summarise,
    /// Prepare questions for my visit.
    Questions,
}

impl Task {
    pub const ALL: [Task; 3] = [Task::Explain, Task::Summarise, Task::Questions];

    /// The user message that starts this task on the attached record.
    pub fn instruction(self) -> &'static str {
        match self {
            Task::Explain => {
                "Please explain the results in my record in plain language. For each result, say what \
the test measures, whether my value is below, within or above its reference range (use the status given \
for it; do not work it out yourself), and what that can generally mean. End with what I might ask my \
doctor about."
            }
            Task::Summarise => {
                "Please summarise my record in plain language: the main findings, the results outside \
their reference range (use the status given for each), and any plans or follow-ups it mentions. Keep it \
short."
            }
            Task::Questions => {
                "Please help me prepare for my next visit: write a short list of clear questions I could \
ask my doctor about this record, most important first."
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Task::Explain => "explain",
            Task::Summarise => "summarise",
            Task::Questions => "questions",
        }
    }
}

impl std::str::FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "explain" => Ok(Task::Explain),
            "summarise" | "summarize" => Ok(Task::Summarise),
            "questions" => Ok(Task::Questions),
            other => Err(format!("unknown task {other:?}: use explain, summarise or questions")),
        }
    }
}

/// The system message for a conversation, with the attached record (if any) appended so that
/// it stays pinned at the start of the context when old turns are dropped. The record is read
/// by [`crate::records`] and given with its results table ahead of the text.
pub fn system_message(record: Option<&str>) -> String {
    let block = record.map(str::trim).filter(|r| !r.is_empty()).map(|r| {
        crate::records::view::for_model(r, &crate::records::parse(r), crate::records::view::RecordView::Full)
    });
    system_message_with(SYSTEM_PROMPT, block.as_deref())
}

/// `instructions`, then the record as the model reads it (see [`crate::records::view`]).
pub fn system_message_with(instructions: &str, record_block: Option<&str>) -> String {
    match record_block {
        Some(block) if !block.trim().is_empty() => format!("{instructions}\n\n{block}"),
        _ => instructions.to_string(),
    }
}

/// The user message for a task, optionally followed by the person's own words.
pub fn task_message(task: Task, extra: Option<&str>) -> String {
    match extra {
        Some(extra) if !extra.trim().is_empty() => format!("{}\n\n{}", task.instruction(), extra.trim()),
        _ => task.instruction().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_pinned_in_system_message() {
        let s = system_message(Some("  LDL 160 mg/dL (ref < 100)  "));
        assert!(s.starts_with(SYSTEM_PROMPT));
        assert!(s.contains("<record>\nLDL 160 mg/dL (ref < 100)\n</record>"));
        assert!(s.contains("- LDL: 160 mg/dL; reference range below 100; status: above the range"), "{s}");
        assert_eq!(system_message(None), SYSTEM_PROMPT);
        assert_eq!(system_message(Some("   ")), SYSTEM_PROMPT);
    }

    #[test]
    fn prompt_forbids_diagnosis_and_prescription() {
        let p = SYSTEM_PROMPT.to_lowercase();
        assert!(p.contains("never diagnose"));
        assert!(p.contains("medicine"));
        assert!(p.contains("doctor"));
    }

    #[test]
    fn tasks_parse_and_compose() {
        for t in Task::ALL {
            assert_eq!(t.name().parse::<Task>(), Ok(t));
        }
        assert_eq!("summarize".parse::<Task>(), Ok(Task::Summarise));
        assert!("diagnose".parse::<Task>().is_err());
        let m = task_message(Task::Questions, Some("I see Dr. Lee on Monday."));
        assert!(m.ends_with("I see Dr. Lee on Monday."));
        assert!(m.starts_with(Task::Questions.instruction()));
    }
}
