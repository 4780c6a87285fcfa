//! What an order costs, broken down: its lines, shipping, a discount, and the VAT included, all in
//! integer minor units.
//!
//! A discount is shared out over the lines it applies to in proportion to their totals (each share
//! rounded down, the minor units left over going one each to the lines with the largest remainders,
//! first lines first on a tie), so the shares add up to the discount exactly. The rounding rule: VAT
//! is worked out for each line (on what is paid for it: its total, unit price × quantity, less its
//! share of the discount) and for shipping, as `VatRate::included_in` does (half to even), and the
//! order's VAT is the sum of those parts. Prices include VAT, so the parts never change what is paid:
//! the total is the lines' totals plus shipping less the discount, whatever the rate.

use crate::vat::VatRate;

/// A line to total: its unit price, quantity, and whether the discount applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub unit_minor: i64,
    pub quantity: i32,
    pub discounted: bool,
}

/// A line's total, its share of the discount, and the VAT in what is paid for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTotal {
    pub total_minor: i64,
    pub discount_minor: i64,
    pub vat_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// The VAT rate of the destination, for every line and shipping.
    pub vat_rate: VatRate,
    /// In the order of the lines given.
    pub lines: Vec<LineTotal>,
    /// The lines' totals.
    pub subtotal_minor: i64,
    pub shipping_minor: i64,
    pub shipping_vat_minor: i64,
    /// Taken off the lines it applies to.
    pub discount_minor: i64,
    /// The VAT included in the total: the lines' and shipping's.
    pub vat_minor: i64,
    pub total_minor: i64,
}

impl Totals {
    /// The totals of `lines`, `discount_minor` off those it applies to (at most what they cost),
    /// shipped for `shipping_minor` to where VAT is `vat_rate`.
    pub fn of(lines: &[Line], shipping_minor: i64, discount_minor: i64, vat_rate: VatRate) -> Self {
        let totals: Vec<i64> = lines.iter().map(|line| line.unit_minor * i64::from(line.quantity)).collect();
        let discounted: Vec<i64> =
            lines.iter().zip(&totals).map(|(line, total)| if line.discounted { *total } else { 0 }).collect();
        let shares = share_out(discount_minor, &discounted);
        let lines: Vec<LineTotal> = totals
            .iter()
            .zip(shares)
            .map(|(&total_minor, discount_minor)| LineTotal {
                total_minor,
                discount_minor,
                vat_minor: vat_rate.included_in(total_minor - discount_minor),
            })
            .collect();
        let subtotal_minor = totals.iter().sum();
        let shipping_vat_minor = vat_rate.included_in(shipping_minor);
        let vat_minor = lines.iter().map(|line| line.vat_minor).sum::<i64>() + shipping_vat_minor;
        Self {
            vat_rate,
            lines,
            subtotal_minor,
            shipping_minor,
            shipping_vat_minor,
            discount_minor,
            vat_minor,
            total_minor: subtotal_minor + shipping_minor - discount_minor,
        }
    }
}

/// `amount` shared out in proportion to `weights` (whose sum is at least `amount`): each share rounded
/// down, then a minor unit more to each of the largest remainders, the first on a tie.
fn share_out(amount: i64, weights: &[i64]) -> Vec<i64> {
    let whole: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    if whole == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<(i128, i128)> = weights
        .iter()
        .map(|&weight| {
            let scaled = i128::from(amount) * i128::from(weight);
            (scaled / whole, scaled % whole)
        })
        .collect();
    let mut shares: Vec<i64> = exact.iter().map(|(share, _)| *share as i64).collect();
    let left = amount - shares.iter().sum::<i64>();
    let mut by_remainder: Vec<usize> = (0..weights.len()).collect();
    by_remainder.sort_by_key(|&i| std::cmp::Reverse(exact[i].1));
    for &i in by_remainder.iter().take(left as usize) {
        shares[i] += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn line(unit_minor: i64, quantity: i32, discounted: bool) -> Line {
        Line { unit_minor, quantity, discounted }
    }

    #[test]
    fn an_order_to_france_breaks_down_into_its_parts() {
        let lines = [line(3899, 2, false), line(1250, 1, false)];
        let totals = Totals::of(&lines, 490, 0, VatRate::parse_percent("20").unwrap());
        assert_eq!(
            totals.lines,
            [
                LineTotal { total_minor: 7798, discount_minor: 0, vat_minor: 1300 },
                LineTotal { total_minor: 1250, discount_minor: 0, vat_minor: 208 }
            ]
        );
        assert_eq!((totals.subtotal_minor, totals.shipping_minor, totals.total_minor), (9048, 490, 9538));
        assert_eq!((totals.shipping_vat_minor, totals.vat_minor), (82, 1590));
    }

    #[test]
    fn a_discount_is_shared_over_its_lines_by_their_totals_and_lowers_their_vat() {
        let lines = [line(1000, 1, true), line(1000, 1, true), line(1000, 1, true), line(5000, 1, false)];
        let totals = Totals::of(&lines, 0, 100, VatRate::parse_percent("25").unwrap());
        let shares: Vec<i64> = totals.lines.iter().map(|l| l.discount_minor).collect();
        assert_eq!(shares, [34, 33, 33, 0], "33.3… each, the minor unit left to the first");
        assert_eq!(totals.lines[0].vat_minor, 193, "(1000 − 34) × 25 / 125 = 193.2");
        assert_eq!(totals.total_minor, 7900);
    }

    /// Whether `part` is `gross × rate / (1 + rate)` to within half a minor unit.
    fn within_half_a_unit(part: i64, gross: i64, rate: VatRate) -> bool {
        let whole = 10_000 + i128::from(rate.basis_points());
        let exact_times_whole = i128::from(gross) * i128::from(rate.basis_points());
        2 * (i128::from(part) * whole - exact_times_whole).abs() <= whole
    }

    proptest! {
        #[test]
        fn the_parts_always_add_up_to_the_total(
            lines in prop::collection::vec((0i64..=1_000_000, 1i32..=99, any::<bool>()), 1..=30),
            shipping in 0i64..=10_000,
            discount_share in 0.0f64..=1.0,
            points in 0i32..=10_000,
        ) {
            let rate = VatRate::from_basis_points(points).unwrap();
            let lines: Vec<Line> = lines.into_iter().map(|(unit, quantity, discounted)| line(unit, quantity, discounted)).collect();
            let discountable: i64 = lines.iter().filter(|l| l.discounted).map(|l| l.unit_minor * i64::from(l.quantity)).sum();
            let discount = (discountable as f64 * discount_share) as i64;
            let totals = Totals::of(&lines, shipping, discount, rate);
            prop_assert_eq!(totals.subtotal_minor, lines.iter().map(|l| l.unit_minor * i64::from(l.quantity)).sum::<i64>());
            prop_assert_eq!(totals.total_minor, totals.subtotal_minor + totals.shipping_minor - discount);
            prop_assert_eq!(totals.lines.iter().map(|l| l.discount_minor).sum::<i64>(), discount);
            let line_vat: i64 = totals.lines.iter().map(|line| line.vat_minor).sum();
            prop_assert_eq!(totals.vat_minor, line_vat + totals.shipping_vat_minor);
            for (total, line) in totals.lines.iter().zip(&lines) {
                prop_assert_eq!(total.total_minor, line.unit_minor * i64::from(line.quantity));
                prop_assert!((0..=total.total_minor).contains(&total.discount_minor));
                prop_assert!(line.discounted || total.discount_minor == 0);
                let paid = total.total_minor - total.discount_minor;
                prop_assert!(within_half_a_unit(total.vat_minor, paid, rate));
                prop_assert!((0..=paid).contains(&total.vat_minor));
            }
            prop_assert!(within_half_a_unit(totals.shipping_vat_minor, shipping, rate));
        }
    }
}
