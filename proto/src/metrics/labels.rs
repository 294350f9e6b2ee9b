//! Label values from fixed sets, and the latency buckets every `_seconds` histogram uses.

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

/// Declares an enum whose variants are label values (`Variant => "text"`), with `as_str`
/// and `EncodeLabelValue`: the label can only ever take one of these values.
#[macro_export]
macro_rules! label_values {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// The label value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text ),+
                }
            }
        }

        impl $crate::metrics::reexport::EncodeLabelValue for $name {
            fn encode(
                &self,
                encoder: &mut $crate::metrics::reexport::LabelValueEncoder<'_>,
            ) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_str())
            }
        }
    };
}

label_values! {
    /// Whether an operation succeeded.
    pub enum Outcome {
        /// It did.
        Ok => "ok",
        /// It failed.
        Error => "error",
    }
}

impl Outcome {
    /// `Ok` or `Error` after `result`.
    pub fn of<T, E>(result: &Result<T, E>) -> Self {
        if result.is_ok() {
            Self::Ok
        } else {
            Self::Error
        }
    }
}

/// Upper bounds (seconds) of latency histograms: 0.5 ms to 10 s, roughly ×2.5 apart.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram with [`LATENCY_BUCKETS`] (the constructor of latency families).
pub fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// A family of latency histograms keyed by the label set `L`.
pub type LatencyFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// An empty [`LatencyFamily`].
pub fn latency_family<L>() -> LatencyFamily<L>
where
    L: Clone + std::hash::Hash + Eq,
{
    Family::new_with_constructor(latency_histogram)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_and_buckets() {
        assert_eq!(Outcome::of::<(), ()>(&Ok(())).as_str(), "ok");
        assert_eq!(Outcome::of::<(), ()>(&Err(())).as_str(), "error");
        assert!(LATENCY_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
