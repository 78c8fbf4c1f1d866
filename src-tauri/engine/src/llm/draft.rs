//! Prompt-lookup drafting: answers about a record copy its names, numbers and phrases, so the
//! tokens that followed the last few tokens' most recent earlier occurrence (in the record, the
//! question or the answer so far) are a cheap guess at what comes next. The model checks the
//! guess in one batch ([`super::ChatSession::send`]); only what it would have produced itself
//! is kept, so greedy answers are the same token for token.

use llama_cpp_2::token::LlamaToken;

/// Drafting settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DraftParams {
    /// Most tokens drafted at once (0: no drafting).
    pub max_tokens: usize,
    /// Shortest match of the last tokens that is trusted: short matches are often wrong and a
    /// rejected draft costs a wider batch.
    pub min_ngram: usize,
    /// Longest match tried first (a longer match predicts better).
    pub max_ngram: usize,
}

impl DraftParams {
    pub fn new(max_tokens: usize) -> Self {
        Self { max_tokens, min_ngram: 3, max_ngram: 6 }
    }
}

/// The draft for what follows `seq`: the tokens after the most recent earlier occurrence of
/// its last `n` tokens, `n` from `max_ngram` down to `min_ngram`; at most `max_tokens`.
/// Empty when nothing matches.
pub fn lookup(seq: &[LlamaToken], params: DraftParams) -> &[LlamaToken] {
    if params.max_tokens == 0 {
        return &[];
    }
    let len = seq.len();
    for n in (params.min_ngram.max(1)..=params.max_ngram).rev() {
        if len <= n {
            continue;
        }
        let suffix = &seq[len - n..];
        // The most recent occurrence that has at least one token after it (not the suffix itself).
        if let Some(start) = (0..len - n).rev().find(|&i| &seq[i..i + n] == suffix) {
            let from = start + n;
            let to = (from + params.max_tokens).min(len);
            return &seq[from..to];
        }
    }
    &[]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ids: &[i32]) -> Vec<LlamaToken> {
        ids.iter().map(|&i| LlamaToken(i)).collect()
    }

    fn ids(tokens: &[LlamaToken]) -> Vec<i32> {
        tokens.iter().map(|t| t.0).collect()
    }

    #[test]
    fn drafts_what_followed_the_most_recent_match() {
        let p = DraftParams { max_tokens: 3, min_ngram: 2, max_ngram: 3 };
        // "1 2 3 4 5 ... 1 2 3 9 ... 1 2 3" → the latest "1 2 3" was followed by 9.
        let seq = t(&[1, 2, 3, 4, 5, 6, 1, 2, 3, 9, 8, 7, 1, 2, 3]);
        assert_eq!(ids(lookup(&seq, p)), vec![9, 8, 7]);
    }

    #[test]
    fn longer_matches_win_and_short_ones_are_not_trusted() {
        let p = DraftParams { max_tokens: 2, min_ngram: 2, max_ngram: 3 };
        // "7 2 3" occurs once (followed by 4 4); "2 3" alone more recently (followed by 5).
        let seq = t(&[7, 2, 3, 4, 4, 2, 3, 5, 7, 2, 3]);
        assert_eq!(ids(lookup(&seq, p)), vec![4, 4]);
        let short = DraftParams { min_ngram: 3, ..p };
        assert!(lookup(&t(&[1, 2, 9, 1, 2]), short).is_empty(), "a 2-token match is below min_ngram");
    }

    #[test]
    fn no_match_no_draft_and_never_past_the_end() {
        let p = DraftParams::new(8);
        assert!(lookup(&t(&[1, 2, 3, 4, 5, 6]), p).is_empty());
        assert!(lookup(&t(&[1, 2]), p).is_empty());
        // The match is right before the suffix: its continuation is cut at the end.
        let seq = t(&[5, 5, 5, 5, 5]);
        assert_eq!(ids(lookup(&seq, DraftParams { max_tokens: 8, min_ngram: 3, max_ngram: 3 })), vec![5]);
        assert!(lookup(&seq, DraftParams::new(0)).is_empty());
    }
}
