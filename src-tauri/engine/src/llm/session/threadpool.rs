//! A persistent ggml CPU threadpool for the session's context.

use crate::llm::LlmError;

/// A persistent ggml CPU threadpool. Without one attached, ggml creates and joins its worker
/// threads for every graph compute, i.e. for every generated token.
pub(super) struct Threadpool(pub(super) *mut llama_cpp_sys_2::ggml_threadpool);

impl Threadpool {
    pub(super) fn new(threads: i32) -> Result<Self, LlmError> {
        // SAFETY: default parameters for `threads` threads; NULL is handled.
        let pool = unsafe {
            let mut params = llama_cpp_sys_2::ggml_threadpool_params_default(threads);
            llama_cpp_sys_2::ggml_threadpool_new(&mut params)
        };
        if pool.is_null() {
            return Err(LlmError::Context("could not start the inference threads".into()));
        }
        Ok(Self(pool))
    }
}

impl Drop for Threadpool {
    fn drop(&mut self) {
        // SAFETY: created by ggml_threadpool_new; the context using it is dropped before this
        // (field order in ChatSession).
        unsafe { llama_cpp_sys_2::ggml_threadpool_free(self.0) }
    }
}
