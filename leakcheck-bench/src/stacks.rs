//! Allocations from many distinct call stacks: `alloc_from_stack(s, ..)`
//! for `s` in `0..1000` allocates through a chain of three generic
//! functions whose instances differ per digit of `s`, so every `s` has its
//! own return addresses and the tracker interns a distinct stack for each.

use std::hint::black_box;

/// Number of distinct stacks [`alloc_from_stack`] can allocate from.
pub const DISTINCT_STACKS: usize = 1000;

/// A small block held by the benchmark.
pub type Block = Box<[u64; 2]>;

macro_rules! by_digit {
    ($d:expr, $f:ident [$($g:ident),*] ($($arg:expr),*)) => {
        match $d % 10 {
            0 => $f::<$($g,)* 0>($($arg),*),
            1 => $f::<$($g,)* 1>($($arg),*),
            2 => $f::<$($g,)* 2>($($arg),*),
            3 => $f::<$($g,)* 3>($($arg),*),
            4 => $f::<$($g,)* 4>($($arg),*),
            5 => $f::<$($g,)* 5>($($arg),*),
            6 => $f::<$($g,)* 6>($($arg),*),
            7 => $f::<$($g,)* 7>($($arg),*),
            8 => $f::<$($g,)* 8>($($arg),*),
            _ => $f::<$($g,)* 9>($($arg),*),
        }
    };
}

/// Pushes `n` blocks allocated from stack number `stack % 1000` onto `out`
/// (reserve room in `out` first, or its growth allocates too).
pub fn alloc_from_stack(stack: usize, out: &mut Vec<Block>, n: usize) {
    by_digit!(stack / 100, hundreds[](stack, out, n))
}

#[inline(never)]
fn hundreds<const A: usize>(stack: usize, out: &mut Vec<Block>, n: usize) {
    by_digit!(stack / 10, tens[A](stack, out, n));
    black_box(());
}

#[inline(never)]
fn tens<const A: usize, const B: usize>(stack: usize, out: &mut Vec<Block>, n: usize) {
    by_digit!(stack, ones[A, B](out, n));
    black_box(());
}

#[inline(never)]
fn ones<const A: usize, const B: usize, const C: usize>(out: &mut Vec<Block>, n: usize) {
    let tag = (A * 100 + B * 10 + C) as u64;
    for i in 0..n {
        out.push(black_box(Box::new([tag, i as u64])));
    }
    black_box(());
}
