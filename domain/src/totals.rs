//! What an order costs, broken down: its lines, shipping, and the VAT included in both, all in
//! integer minor units.
//!
//! The rounding rule: VAT is worked out for each line (on the line's total, unit price × quantity)
//! and for shipping, as `VatRate::included_in` does (half to even), and the order's VAT is the sum of
//! those parts. Prices include VAT, so the parts never change what is paid: the total is the lines'
//! totals plus shipping, whatever the rate.

use crate::vat::VatRate;

/// A line's total and the VAT in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTotal {
    pub total_minor: i64,
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
    /// The VAT included in the total: the lines' and shipping's.
    pub vat_minor: i64,
    pub total_minor: i64,
}

impl Totals {
    /// The totals of lines of (unit price, quantity), shipped for `shipping_minor` to where VAT is
    /// `vat_rate`.
    pub fn of(lines: impl IntoIterator<Item = (i64, i32)>, shipping_minor: i64, vat_rate: VatRate) -> Self {
        let lines: Vec<LineTotal> = lines
            .into_iter()
            .map(|(unit, quantity)| {
                let total_minor = unit * i64::from(quantity);
                LineTotal { total_minor, vat_minor: vat_rate.included_in(total_minor) }
            })
            .collect();
        let subtotal_minor = lines.iter().map(|line| line.total_minor).sum();
        let shipping_vat_minor = vat_rate.included_in(shipping_minor);
        let vat_minor = lines.iter().map(|line| line.vat_minor).sum::<i64>() + shipping_vat_minor;
        Self {
            vat_rate,
            lines,
            subtotal_minor,
            shipping_minor,
            shipping_vat_minor,
            vat_minor,
            total_minor: subtotal_minor + shipping_minor,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_order_to_france_breaks_down_into_its_parts() {
        let totals = Totals::of([(3899, 2), (1250, 1)], 490, VatRate::parse_percent("20").unwrap());
        assert_eq!(
            totals.lines,
            [
                LineTotal { total_minor: 7798, vat_minor: 1300 },
                LineTotal { total_minor: 1250, vat_minor: 208 }
            ]
        );
        assert_eq!((totals.subtotal_minor, totals.shipping_minor, totals.total_minor), (9048, 490, 9538));
        assert_eq!((totals.shipping_vat_minor, totals.vat_minor), (82, 1590));
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
            lines in prop::collection::vec((0i64..=1_000_000, 1i32..=99), 1..=30),
            shipping in 0i64..=10_000,
            points in 0i32..=10_000,
        ) {
            let rate = VatRate::from_basis_points(points).unwrap();
            let totals = Totals::of(lines.iter().copied(), shipping, rate);
            prop_assert_eq!(totals.subtotal_minor, lines.iter().map(|(unit, q)| unit * i64::from(*q)).sum::<i64>());
            prop_assert_eq!(totals.total_minor, totals.subtotal_minor + totals.shipping_minor);
            let line_vat: i64 = totals.lines.iter().map(|line| line.vat_minor).sum();
            prop_assert_eq!(totals.vat_minor, line_vat + totals.shipping_vat_minor);
            for (line, (unit, quantity)) in totals.lines.iter().zip(&lines) {
                prop_assert_eq!(line.total_minor, unit * i64::from(*quantity));
                prop_assert!(within_half_a_unit(line.vat_minor, line.total_minor, rate));
                prop_assert!((0..=line.total_minor).contains(&line.vat_minor));
            }
            prop_assert!(within_half_a_unit(totals.shipping_vat_minor, shipping, rate));
        }
    }
}
