//! Comparing greedy answers computed in different batch shapes.
//!
//! llama.cpp does not promise bit-equal logits when the same tokens are read in batches of
//! other sizes (a prompt in one batch or in two, a question read ahead in pieces, a micro-batch
//! of 64 or of 512): the CPU kernels for several rows add in another order, attention over a
//! batch is tiled differently, and which kernels run depends on the CPU (AVX2, AVX-512) and on
//! repacking. Two tokens nearly tied can then swap, and the answers part there. So:
//! - where both answers went through the same batch shapes, tests compare token ids exactly;
//! - where the shapes differ, [`assert_same_up_to_near_tie`]: the answers may part, but only
//!   at a token where both runs had the two best tokens within [`NEAR_TIE`] logits.

/// A near tie: two tokens whose logits are this close can swap places when the same logits
/// are computed in other batch shapes.
pub const NEAR_TIE: f32 = 0.5;

/// One greedy answer: its token ids and the logit margin of each (top token over the
/// runner-up; `ChatSession::keep_margins`, `ChatSession::last_margins`), or no margins when
/// they are not known (an answer read back from the history store).
#[derive(Clone, Debug)]
pub struct Greedy {
    pub ids: Vec<i32>,
    pub margins: Vec<f32>,
}

/// Where two greedy answers to the same conversation first differ, if they do.
pub fn first_difference(a: &[i32], b: &[i32]) -> Option<usize> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => Some(i),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

/// Asserts that `a` and `b`, greedy answers to the same conversation read in different batch
/// shapes, are the same answer up to a near tie: identical, or parting at a token where each
/// run that produced a token there had a margin under [`NEAR_TIE`] (an answer that ended
/// there has no margin to show: its end token was the one chosen; nor has one whose margins
/// are not known, but at least one side must have them). Returns how many tokens they share.
pub fn assert_same_up_to_near_tie(what: &str, a: &Greedy, b: &Greedy) -> usize {
    for (g, which) in [(a, "first"), (b, "second")] {
        assert!(g.margins.is_empty() || g.margins.len() == g.ids.len(), "{what}: {which} answer: {} margins for {} tokens", g.margins.len(), g.ids.len());
    }
    assert!(!a.margins.is_empty() || !b.margins.is_empty(), "{what}: the margins of at least one answer are needed");
    let Some(i) = first_difference(&a.ids, &b.ids) else {
        return a.ids.len();
    };
    let (ma, mb) = (a.margins.get(i).copied(), b.margins.get(i).copied());
    eprintln!("{what}: the answers part at token {i} ({:?} / {:?}), margins {ma:?} / {mb:?}", a.ids.get(i), b.ids.get(i));
    let torn = |m: Option<f32>| m.is_none_or(|m| m < NEAR_TIE);
    assert!(
        torn(ma) && torn(mb),
        "{what}: the answers part at token {i} where the model was not torn (margins {ma:?} / {mb:?}):\n{:?}\n{:?}",
        a.ids,
        b.ids
    );
    i
}
