//! Keeping one evaluation in bounds: every step of jaq's interpreter fetches the program's lookup
//! table through `Scope::lut`, and that is where we look at the clock, the stack and memory.
//!
//! jaq offers no way to stop a running filter: `def f: f; f` loops without ever producing an
//! output, calling a native, or returning to us. But each step of the interpreter asks its
//! context for the lookup table, and the context's global data is ours (`Scope`). So:
//! - every step compares the stack pointer with a floor computed when the evaluation began: a
//!   recursion that would overflow the thread's stack stops with an error instead;
//! - every `CHECK_EVERY` steps, the host's interrupt check runs (the run was cancelled, or a
//!   timeout expired), and every `MEMORY_EVERY` checks, the memory cap is compared with what the
//!   process uses.
//!
//! A step cannot return an error, so a stop unwinds (`resume_unwind`, which prints nothing) to
//! `Expr::eval`, which catches exactly our payload and turns it into an `EvalError`. Everything
//! the evaluation built is dropped on the way; nothing of it outlives the evaluation.

use super::jv::Jv;
use jaq_core::Lut;
use jaq_core::data::{DataT, HasLut};
use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Interpreter steps between two looks at the host's interrupt check (a few microseconds).
const CHECK_EVERY: u32 = 1024;
/// Interrupt checks between two looks at the process's memory (about one per 64k steps).
const MEMORY_EVERY: u32 = 64;
/// Stack kept free below the floor for natives that recurse over values (`tojson`, `==`, ...)
/// and for dropping what the evaluation built.
const STACK_MARGIN: usize = 1024 * 1024;

/// Why an evaluation was abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The host asked (the run was cancelled or a timeout expired): the result does not matter.
    Interrupted,
    /// The evaluation recursed so deep that it would overflow the stack.
    TooDeep,
    /// The process uses more memory than the cap allows.
    OutOfMemory { cap: u64 },
    /// The evaluation built a value nested deeper than `depth::MAX_DEPTH`.
    Nested,
}

impl Stop {
    pub(crate) fn message(self) -> String {
        match self {
            Stop::Interrupted => "the evaluation was interrupted".to_owned(),
            Stop::TooDeep => {
                "the evaluation recursed too deep (unbounded recursion?) and was stopped before \
                 it overflowed the stack"
                    .to_owned()
            }
            Stop::Nested => format!(
                "the expression built a value nested more than {} levels deep",
                super::depth::MAX_DEPTH
            ),
            Stop::OutOfMemory { cap } => format!(
                "the evaluation was stopped: the run uses more than its memory cap of {} MiB \
                 (--max-memory / WORKFLOW_MAX_MEMORY)",
                cap / (1024 * 1024)
            ),
        }
    }
}

/// The host's answer to "should running evaluations stop now?", registered once by the engine.
static INTERRUPT_CHECK: OnceLock<fn() -> bool> = OnceLock::new();
/// Bytes of resident memory above which evaluations stop; 0 for no cap.
static MEMORY_CAP: AtomicU64 = AtomicU64::new(DEFAULT_MEMORY_CAP);
/// 2 GiB: far above what workflow data needs, far below what a runaway `[range(1e9)]` takes.
pub const DEFAULT_MEMORY_CAP: u64 = 2 * 1024 * 1024 * 1024;

/// Registers the check every evaluation consults periodically (the first registration wins).
pub fn set_interrupt_check(check: fn() -> bool) {
    let _ = INTERRUPT_CHECK.set(check);
}

/// Sets the memory cap (bytes of the process's resident memory; 0 turns it off).
pub fn set_memory_cap(bytes: u64) {
    MEMORY_CAP.store(bytes, Ordering::Relaxed);
}

/// The largest string one operation may build: the memory cap (or `isize::MAX` without one).
pub(crate) fn max_string_bytes() -> u64 {
    match MEMORY_CAP.load(Ordering::Relaxed) {
        0 => isize::MAX as u64,
        cap => cap,
    }
}

/// How jaq sees our data: `Jv` values, and a `Scope` as global data.
pub(crate) struct Watched;

impl DataT for Watched {
    type V<'a> = Jv;
    type Data<'a> = Scope<'a>;
}

/// The global data of one evaluation: the lookup table and the watch over it.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    lut: &'a Lut<Watched>,
    watch: &'a Watch,
}

impl<'a> Scope<'a> {
    pub(crate) fn new(lut: &'a Lut<Watched>, watch: &'a Watch) -> Self {
        Scope { lut, watch }
    }
}

impl<'a> HasLut<'a, Watched> for Scope<'a> {
    #[inline]
    fn lut(&self) -> &'a Lut<Watched> {
        self.watch.step();
        self.lut
    }
}

/// The per-evaluation state of the checks.
pub(crate) struct Watch {
    /// Lowest stack address the evaluation may reach.
    stack_floor: usize,
}

thread_local! {
    /// Steps since this thread's last check: kept across evaluations, so that many short
    /// evaluations (a `for` over a million `set`s) are checked as often as one long one.
    static TICKS: Cell<u32> = const { Cell::new(0) };
    static CHECKS: Cell<u32> = const { Cell::new(0) };
}

impl Watch {
    /// A watch for an evaluation starting now on this thread.
    pub(crate) fn new() -> Self {
        Watch {
            stack_floor: stack::floor(),
        }
    }

    #[inline]
    pub(crate) fn step(&self) {
        if stack::here() < self.stack_floor {
            stop(Stop::TooDeep);
        }
        tick();
    }
}

/// Counts one unit of work of an evaluation (a step, or an item a native produces) and checks
/// the host and the memory every so often.
#[inline]
pub(crate) fn tick() {
    let ticks = TICKS.with(|ticks| {
        let n = ticks.get().wrapping_add(1);
        ticks.set(n);
        n
    });
    if ticks.is_multiple_of(CHECK_EVERY) {
        check();
    }
}

#[cold]
fn check() {
    if INTERRUPT_CHECK.get().is_some_and(|check| check()) {
        stop(Stop::Interrupted);
    }
    let checks = CHECKS.with(|checks| {
        let n = checks.get().wrapping_add(1);
        checks.set(n);
        n
    });
    if checks.is_multiple_of(MEMORY_EVERY) {
        let cap = MEMORY_CAP.load(Ordering::Relaxed);
        if cap > 0 && memory::resident().is_some_and(|used| used > cap) {
            stop(Stop::OutOfMemory { cap });
        }
    }
}

/// Abandons the evaluation: unwinds to `Expr::eval` without running the panic hook.
#[cold]
pub(crate) fn stop(reason: Stop) -> ! {
    std::panic::resume_unwind(Box::new(reason))
}

/// Runs `evaluate`, turning a stop into its reason. Any other panic goes on unwinding.
pub(crate) fn watched<T>(evaluate: impl FnOnce() -> T) -> Result<T, Stop> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(evaluate)) {
        Ok(value) => Ok(value),
        Err(payload) => match payload.downcast::<Stop>() {
            Ok(reason) => Err(*reason),
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

/// Where the stack of this thread ends.
mod stack {
    use std::cell::Cell;

    thread_local! {
        /// The floor computed for this thread (0 until first asked).
        static FLOOR: Cell<usize> = const { Cell::new(0) };
    }

    /// Approximately the current stack pointer.
    #[inline(always)]
    pub(super) fn here() -> usize {
        let marker = 0u8;
        std::hint::black_box(&marker) as *const u8 as usize
    }

    /// The lowest address an evaluation on this thread may reach: the end of the thread's
    /// stack plus a margin. Stacks grow down on every platform we build for.
    pub(super) fn floor() -> usize {
        FLOOR.with(|floor| {
            if floor.get() == 0 {
                let lowest = lowest_address().unwrap_or_else(|| {
                    // Unknown: assume the 2 MiB of a spawned Rust thread below this frame.
                    here().saturating_sub(2 * 1024 * 1024)
                });
                floor.set(lowest.saturating_add(super::STACK_MARGIN).max(1));
            }
            floor.get()
        })
    }

    #[cfg(target_os = "linux")]
    fn lowest_address() -> Option<usize> {
        // SAFETY: `pthread_getattr_np` fills the attribute object we own and destroy here; the
        // addresses it reports are only compared with, never dereferenced.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
                return None;
            }
            let mut base: *mut libc::c_void = std::ptr::null_mut();
            let mut size: libc::size_t = 0;
            let found = libc::pthread_attr_getstack(&attr, &mut base, &mut size) == 0;
            libc::pthread_attr_destroy(&mut attr);
            // The main thread's reported size follows `ulimit -s`; the guard page sits below
            // `base`, so `base` itself is the lowest usable address.
            (found && !base.is_null()).then_some(base as usize)
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn lowest_address() -> Option<usize> {
        None
    }
}

/// What the process uses.
mod memory {
    /// Resident memory in bytes (Linux: `/proc/self/statm`); `None` where unknown.
    #[cfg(target_os = "linux")]
    pub(super) fn resident() -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Some(pages * u64::try_from(page).ok()?)
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn resident() -> Option<u64> {
        None
    }
}
