//! Cancellation shared between a caller and a worker thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A cheap, clonable cancellation flag. The worker checks it between prefill chunks and
/// between generated tokens; any clone may cancel from any thread.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// The flag itself, for C callbacks (valid while this token lives).
    pub(crate) fn flag_ptr(&self) -> *const AtomicBool {
        Arc::as_ptr(&self.0)
    }
}

/// A C abort callback (`bool (*)(void *)`) reading a [`CancelToken`]'s flag, for
/// `user_data = token.flag_ptr()`.
///
/// # Safety
/// `data` must come from [`CancelToken::flag_ptr`] of a token alive for the whole call.
pub(crate) unsafe extern "C" fn abort_when_cancelled(data: *mut std::ffi::c_void) -> bool {
    // SAFETY: guaranteed by the caller (see above).
    unsafe { (*(data as *const AtomicBool)).load(Ordering::Acquire) }
}
