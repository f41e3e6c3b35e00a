//! Ordered, total enums for verdicts, decisions, categories and severities, and the
//! one place that maps them to words.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! words {
    ($ty:ident { $($var:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, mildest first.
            pub const ALL: &'static [$ty] = &[$($ty::$var),+];

            /// The lowercase word used in config, output and the store.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$var => $word),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($ty::$var),)+
                    _ => Err(format!(
                        "unknown {} `{}`, expected one of: {}",
                        stringify!($ty).to_lowercase(),
                        s,
                        [$($word),+].join(", ")
                    )),
                }
            }
        }
    };
}

/// The assessment of one request or source, ordered from harmless to most serious.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Ordinary traffic.
    #[default]
    Benign,
    /// A probe that cannot hurt this server.
    Noise,
    /// Suspicious without a signature, or a success answer the inventory cannot explain.
    Unknown,
    /// Targets something this server runs, or a generic attack on a dynamic site.
    Relevant,
    /// Relevant and likely to have worked, or aimed at a vulnerable installed version.
    Urgent,
}
words!(Verdict { Benign => "benign", Noise => "noise", Unknown => "unknown", Relevant => "relevant", Urgent => "urgent" });

/// What to do about a source, ordered from mildest to strongest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// Count it, do nothing else.
    #[default]
    Ignore,
    /// Keep an eye on it; queue it for a person when it is unknown.
    Watch,
    /// Block the source for the decision's duration.
    Block,
}
words!(DecisionKind { Ignore => "ignore", Watch => "watch", Block => "block" });

/// What kind of activity a signature recognises, ordered from mildest to strongest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// A known, well-behaved crawler or monitoring bot.
    Crawler,
    /// A scanning tool recognised by its fingerprint (user agent), whatever it asks for.
    Scanner,
    /// Looks for a product, page or path to learn what is there.
    #[default]
    Recon,
    /// Looks for a file that would leak secrets (`.env`, `.git/config`, backups, keys).
    Secret,
    /// Guesses credentials against a login endpoint.
    Bruteforce,
    /// Carries a payload meant to exploit a vulnerability.
    Exploit,
}
words!(Category { Crawler => "crawler", Scanner => "scanner", Recon => "recon", Secret => "secret", Bruteforce => "bruteforce", Exploit => "exploit" });

/// How bad a signature's match is on its own, ordered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    #[default]
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}
words!(Severity { Info => "info", Low => "low", Medium => "medium", High => "high", Critical => "critical" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_order() {
        for v in Verdict::ALL {
            assert_eq!(v.as_str().parse::<Verdict>().unwrap(), *v);
        }
        assert!(Verdict::Urgent > Verdict::Relevant && Verdict::Relevant > Verdict::Unknown);
        assert!(Verdict::Unknown > Verdict::Noise && Verdict::Noise > Verdict::Benign);
        assert!(DecisionKind::Block > DecisionKind::Watch);
        assert!("bogus".parse::<Category>().unwrap_err().contains("recon"));
    }
}
