//! Whole numbers written as decimal digits without the general formatter: rankings and their files
//! write millions of numbers (points, positions, protocol numbers), and `format!` was a visible part
//! of that time.

/// Appends the decimal digits of `n`, with leading zeros up to `width` digits (any width; zero with no
/// width is nothing).
pub fn push_digits(n: u64, width: u32, out: &mut String) {
    let mut buf = itoa::Buffer::new();
    let digits = if n == 0 { "" } else { buf.format(n) };
    for _ in digits.len()..width as usize {
        out.push('0');
    }
    out.push_str(digits);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn digits_are_what_format_writes(n in any::<u64>(), width in 0u32..=30) {
            let mut out = "x".to_owned();
            push_digits(n, width, &mut out);
            prop_assert_eq!(out, format!("x{n:0width$}", width = width as usize));
        }
    }

    #[test]
    fn zero_with_no_width_is_nothing_and_with_width_is_zeros() {
        let mut out = String::new();
        push_digits(0, 0, &mut out);
        assert_eq!(out, "");
        push_digits(0, 3, &mut out);
        assert_eq!(out, "000");
    }
}
