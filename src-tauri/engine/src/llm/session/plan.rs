//! What to keep of the KV cache for a new prompt, and how many old turns to drop: pure
//! decisions over token sequences and lengths, with no model behind them.
//!
//! The cache holds a token sequence at positions `0..len`. A new prompt reuses what the cache
//! already holds of it:
//! - in place, its longest common prefix with the cache;
//! - or, once the oldest turns were dropped (a trim), the pinned system message in place and
//!   the rest of the conversation found further on in the cache, moved back over the dropped
//!   turns (llama.cpp's sequence remove + position shift, as its server's context shift).
//!
//! Whatever the cache does not hold is read (prefilled).

/// How the cache becomes the start of a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachePlan {
    /// Cache entries kept where they are: positions `0..keep`.
    pub keep: usize,
    /// Then, a later run of cache entries moved back to follow them (the entries between are
    /// removed, and those after the run).
    pub shift: Option<Shift>,
}

/// Cache entries at positions `from..from + len` moved back to `keep..keep + len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    pub from: usize,
    pub len: usize,
}

impl CachePlan {
    /// Tokens of the prompt the cache holds afterwards; the prompt is read from there.
    pub fn reused(&self) -> usize {
        self.keep + self.shift.map_or(0, |s| s.len)
    }

    /// Positions the shifted run moves back by (0 without a shift).
    pub fn delta(&self) -> usize {
        self.shift.map_or(0, |s| s.from - self.keep)
    }
}

/// Length of the common prefix of `a` and `b`.
pub fn common_prefix<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// What to keep of `cached` for `prompt`. At most `max_reuse` tokens of the prompt come from
/// the cache (one less than the prompt when the last token's logits are needed). With
/// `shift_after` = `Some(pinned)` (the prompt's first `pinned` tokens, the system message,
/// stay in place), the rest of the prompt may also be found further on in the cache and
/// moved back, when that reuses more than the common prefix does.
pub fn plan<T: PartialEq>(cached: &[T], prompt: &[T], max_reuse: usize, shift_after: Option<usize>) -> CachePlan {
    let max_reuse = max_reuse.min(prompt.len());
    let prefix = common_prefix(cached, prompt).min(max_reuse);
    let mut best = CachePlan { keep: prefix, shift: None };
    let Some(pinned) = shift_after else { return best };
    if pinned == 0 || prefix < pinned || pinned >= max_reuse {
        return best;
    }
    let rest = &prompt[pinned..max_reuse];
    for from in pinned + 1..cached.len() {
        if cached[from] != rest[0] {
            continue;
        }
        let len = common_prefix(&cached[from..], rest);
        if pinned + len > best.reused() {
            best = CachePlan { keep: pinned, shift: Some(Shift { from, len }) };
        }
    }
    best
}

/// Whether a prompt of `len` tokens fits an `n_ctx` context with `reserve` tokens left for
/// the answer.
pub fn fits(len: usize, n_ctx: usize, reserve: usize) -> bool {
    len + reserve <= n_ctx
}

/// The most tokens a prompt keeps after a trim: room for the answer (`reserve`) and a quarter
/// of the context more, so that the next questions do not trim again at once (each trim
/// costs the dropped turns; each one turn at a time would cost a trim per question).
pub fn trim_target(n_ctx: usize, reserve: usize) -> usize {
    n_ctx.saturating_sub(reserve + n_ctx / 4)
}

/// How many of the oldest turns to drop for the next prompt, given `len(k)`, the prompt's
/// length with the `k` oldest of `turns` dropped (not increasing with `k`): none when it
/// fits; otherwise the fewest that bring it down to [`trim_target`], or, when even dropping
/// all does not, the fewest that make it fit. `None`: it does not fit with all dropped.
pub fn turns_to_drop<E>(turns: usize, n_ctx: usize, reserve: usize, mut len: impl FnMut(usize) -> Result<usize, E>) -> Result<Option<usize>, E> {
    if fits(len(0)?, n_ctx, reserve) {
        return Ok(Some(0));
    }
    let target = trim_target(n_ctx, reserve);
    let mut first_fit = None;
    for k in 1..=turns {
        let l = len(k)?;
        if l <= target {
            return Ok(Some(k));
        }
        if first_fit.is_none() && fits(l, n_ctx, reserve) {
            first_fit = Some(k);
        }
    }
    Ok(first_fit)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Token sequences as small integers: 1 = <|im_start|>, 2 = <|im_end|>; S.. the system
    // message, then turns.
    const SYS: [u32; 4] = [1, 90, 91, 2];

    fn turn(q: u32, a: u32) -> Vec<u32> {
        vec![1, 50, q, 2, 1, 60, a, 2]
    }

    fn seq(parts: &[&[u32]]) -> Vec<u32> {
        parts.concat()
    }

    #[test]
    fn a_follow_up_reuses_the_common_prefix() {
        let cached = seq(&[&SYS, &turn(10, 11)]);
        let prompt = seq(&[&SYS, &turn(10, 11), &[1, 50, 12]]);
        let p = plan(&cached, &prompt, prompt.len() - 1, Some(SYS.len()));
        assert_eq!(p, CachePlan { keep: cached.len(), shift: None });
        assert_eq!(p.reused(), cached.len());
    }

    #[test]
    fn an_edited_history_keeps_up_to_the_change() {
        let cached = seq(&[&SYS, &turn(10, 11), &turn(12, 13)]);
        let prompt = seq(&[&SYS, &turn(10, 11), &turn(12, 14)]);
        let p = plan(&cached, &prompt, prompt.len() - 1, None);
        assert_eq!(p, CachePlan { keep: SYS.len() + 8 + 6, shift: None });
    }

    #[test]
    fn after_dropped_turns_the_rest_is_shifted_over_them() {
        let cached = seq(&[&SYS, &turn(10, 11), &turn(12, 13), &turn(14, 15)]);
        // The first turn dropped, a new question after the others.
        let prompt = seq(&[&SYS, &turn(12, 13), &turn(14, 15), &[1, 50, 16, 2, 1, 60]]);
        let p = plan(&cached, &prompt, prompt.len() - 1, Some(SYS.len()));
        assert_eq!(p.keep, SYS.len());
        assert_eq!(p.shift, Some(Shift { from: SYS.len() + 8, len: 16 }));
        assert_eq!(p.delta(), 8);
        // Only the new question is read.
        assert_eq!(prompt.len() - p.reused(), 6);
    }

    #[test]
    fn no_shift_without_permission_or_when_the_pinned_part_changed() {
        let cached = seq(&[&SYS, &turn(10, 11), &turn(12, 13)]);
        let prompt = seq(&[&SYS, &turn(12, 13), &[1, 50, 16]]);
        // Not allowed: the common prefix only.
        let p = plan(&cached, &prompt, prompt.len() - 1, None);
        assert_eq!(p, CachePlan { keep: SYS.len() + 2, shift: None });
        // The system message differs (a new record): nothing can move.
        let other = seq(&[&[1, 90, 92, 2], &turn(12, 13), &[1, 50, 16]]);
        let p = plan(&cached, &other, other.len() - 1, Some(SYS.len()));
        assert_eq!(p, CachePlan { keep: 2, shift: None });
    }

    #[test]
    fn the_shift_never_reuses_past_max_reuse() {
        let cached = seq(&[&SYS, &turn(10, 11), &turn(12, 13)]);
        let prompt = seq(&[&SYS, &turn(12, 13)]);
        // Logits of the last token are needed: it is read again.
        let p = plan(&cached, &prompt, prompt.len() - 1, Some(SYS.len()));
        assert_eq!(p.reused(), prompt.len() - 1);
        assert_eq!(p.shift, Some(Shift { from: SYS.len() + 8, len: 7 }));
    }

    #[test]
    fn a_shift_is_chosen_only_when_it_reuses_more() {
        // The prompt continues the cache in place: the prefix wins even though the tail also
        // appears further on.
        let cached = seq(&[&SYS, &turn(10, 11), &turn(10, 11)]);
        let prompt = seq(&[&SYS, &turn(10, 11), &turn(10, 11), &[1]]);
        let p = plan(&cached, &prompt, prompt.len() - 1, Some(SYS.len()));
        assert_eq!(p, CachePlan { keep: cached.len(), shift: None });
    }

    #[test]
    fn nothing_dropped_when_the_prompt_fits() {
        let lens = [900, 700, 500, 300, 100];
        assert_eq!(turns_to_drop::<()>(4, 1000, 100, |k| Ok(lens[k])), Ok(Some(0)));
    }

    #[test]
    fn a_trim_drops_down_to_the_target_in_one_step() {
        // n_ctx 1000, reserve 100: the target is 1000 - 100 - 250 = 650.
        let lens = [1000, 880, 760, 640, 520, 400];
        assert_eq!(trim_target(1000, 100), 650);
        assert_eq!(turns_to_drop::<()>(5, 1000, 100, |k| Ok(lens[k])), Ok(Some(3)));
    }

    #[test]
    fn when_the_target_is_out_of_reach_the_fewest_that_fit_are_dropped() {
        let lens = [1000, 950, 880, 870];
        assert_eq!(turns_to_drop::<()>(3, 1000, 100, |k| Ok(lens[k])), Ok(Some(2)));
        let too_long = [1200, 1150];
        assert_eq!(turns_to_drop::<()>(1, 1000, 100, |k| Ok(too_long[k])), Ok(None));
    }
}
