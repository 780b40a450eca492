//! A hint to the processor to start loading a value it will need soon.
//!
//! The allocation visits applicants in ranking order, scattered in memory, and each turn ends at an
//! unpredictable choice, so the processor cannot run ahead by itself: every turn would wait for its
//! own cache misses. Asking a few turns ahead overlaps those waits. A hint only: it never changes a
//! result, and where the instruction is not available it does nothing.

/// Starts loading the cache line holding `value`.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse"))]
    safe_arch::prefetch_t0(value);
    #[cfg(not(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse")))]
    let _ = value;
}
