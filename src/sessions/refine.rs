//! Refinement in words, for adapters that work from parameters: feedback is split into phrases and
//! each phrase is matched against a documented set of instructions. A phrase that matches none is
//! reported as not understood: the adapter never pretends.

use super::model::{Params, Texts};

/// The instructions the built-in adapter understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instruction {
    BiggerLogo,
    SmallerLogo,
    MoreProminentProduct,
    LessBusy,
    DarkerBackground,
    LighterBackground,
    ShorterHeadline,
}

impl Instruction {
    pub fn name(self) -> &'static str {
        match self {
            Instruction::BiggerLogo => "bigger logo",
            Instruction::SmallerLogo => "smaller logo",
            Instruction::MoreProminentProduct => "more prominent product",
            Instruction::LessBusy => "less busy",
            Instruction::DarkerBackground => "darker background",
            Instruction::LighterBackground => "lighter background",
            Instruction::ShorterHeadline => "shorter headline",
        }
    }
}

/// The documented set, with the phrasings each accepts (all words of one phrasing must appear).
const PHRASINGS: &[(Instruction, &[&[&str]])] = &[
    (
        Instruction::BiggerLogo,
        &[
            &["bigger", "logo"],
            &["larger", "logo"],
            &["logo", "bigger"],
            &["logo", "larger"],
            &["enlarge", "logo"],
            &["increase", "logo"],
        ],
    ),
    (
        Instruction::SmallerLogo,
        &[
            &["smaller", "logo"],
            &["logo", "smaller"],
            &["shrink", "logo"],
            &["reduce", "logo"],
        ],
    ),
    (
        Instruction::MoreProminentProduct,
        &[
            &["prominent", "product"],
            &["bigger", "product"],
            &["larger", "product"],
            &["product", "bigger"],
            &["emphasi", "product"],
        ],
    ),
    (
        Instruction::LessBusy,
        &[
            &["less", "busy"],
            &["simpler"],
            &["less", "clutter"],
            &["cleaner"],
            &["less", "text"],
        ],
    ),
    (
        Instruction::DarkerBackground,
        &[
            &["darker", "background"],
            &["darken", "background"],
            &["background", "darker"],
        ],
    ),
    (
        Instruction::LighterBackground,
        &[
            &["lighter", "background"],
            &["brighter", "background"],
            &["lighten", "background"],
            &["background", "lighter"],
        ],
    ),
    (
        Instruction::ShorterHeadline,
        &[
            &["shorter", "headline"],
            &["headline", "shorter"],
            &["shorten", "headline"],
            &["shorter", "title"],
        ],
    ),
];

/// Every instruction's name, for error messages and capabilities.
pub fn documented() -> Vec<&'static str> {
    PHRASINGS.iter().map(|(i, _)| i.name()).collect()
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub understood: Vec<Instruction>,
    pub not_understood: Vec<String>,
}

fn matches(phrase: &str, words: &[&str]) -> bool {
    let tokens: Vec<&str> = phrase
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    words
        .iter()
        .all(|w| tokens.iter().any(|t| t.starts_with(w)))
}

/// Splits feedback on commas, semicolons, full stops, new lines and "and", then matches each phrase.
pub fn parse(feedback: &str) -> Parsed {
    let lower = feedback.to_lowercase();
    let mut out = Parsed::default();
    let phrases = lower
        .split([',', ';', '.', '\n', '!'])
        .flat_map(|p| p.split(" and "))
        .map(str::trim)
        .filter(|p| !p.is_empty());
    for phrase in phrases {
        match PHRASINGS
            .iter()
            .find(|(_, forms)| forms.iter().any(|f| matches(phrase, f)))
        {
            Some((i, _)) => {
                if !out.understood.contains(i) {
                    out.understood.push(*i)
                }
            }
            None => out.not_understood.push(phrase.to_owned()),
        }
    }
    out
}

/// The first `n` words.
fn first_words(text: &str, n: usize) -> String {
    text.split_whitespace()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Applies understood instructions to a direction's parameters.
pub fn apply(params: &Params, texts: &Texts, list: &[Instruction]) -> Params {
    let mut p = params.clone();
    for i in list {
        match i {
            Instruction::BiggerLogo => p.logo_scale = (p.logo_scale * 1.35).min(2.5),
            Instruction::SmallerLogo => p.logo_scale = (p.logo_scale / 1.35).max(0.4),
            Instruction::MoreProminentProduct => p.product_scale = (p.product_scale * 1.3).min(2.0),
            Instruction::LessBusy => p.show_body = false,
            Instruction::DarkerBackground => {
                p.background_brightness = (p.background_brightness * 0.7).max(0.2)
            }
            Instruction::LighterBackground => {
                p.background_brightness = (p.background_brightness * 1.3).min(3.0)
            }
            Instruction::ShorterHeadline => {
                let words = texts
                    .headline
                    .as_deref()
                    .map(|h| h.split_whitespace().count())
                    .unwrap_or(0);
                let now = p.headline_max_words.unwrap_or(words);
                p.headline_max_words = Some((now.saturating_mul(2) / 3).max(2).min(now.max(2)));
            }
        }
    }
    p
}

/// The headline as a direction shows it.
pub fn headline(texts: &Texts, p: &Params) -> String {
    let h = texts.headline.as_deref().unwrap_or_default();
    match p.headline_max_words {
        Some(n) => first_words(h, n),
        None => h.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::model::Layout;

    #[test]
    fn understood_and_not_understood_are_told_apart() {
        let p = parse("Bigger logo, and make it sing like Sinatra. Less busy");
        assert_eq!(
            p.understood,
            vec![Instruction::BiggerLogo, Instruction::LessBusy]
        );
        assert_eq!(p.not_understood, vec!["make it sing like sinatra"]);
        assert!(parse("make the logo bigger").understood == vec![Instruction::BiggerLogo]);
        assert!(
            parse("more prominent product").understood == vec![Instruction::MoreProminentProduct]
        );
        assert_eq!(parse("purple unicorns").understood, vec![]);
    }

    #[test]
    fn instructions_move_the_parameters() {
        let texts = Texts {
            headline: Some("Fresh roasted coffee delivered to your door".into()),
            ..Texts::default()
        };
        let base = Params::new(Layout::Split);
        let p = apply(
            &base,
            &texts,
            &[
                Instruction::BiggerLogo,
                Instruction::DarkerBackground,
                Instruction::ShorterHeadline,
                Instruction::LessBusy,
            ],
        );
        assert!(p.logo_scale > base.logo_scale);
        assert!(p.background_brightness < 1.0);
        assert!(!p.show_body);
        assert_eq!(headline(&texts, &p), "Fresh roasted coffee delivered");
        // Shortening again keeps shortening, never below two words.
        let again = apply(
            &p,
            &texts,
            &[
                Instruction::ShorterHeadline,
                Instruction::ShorterHeadline,
                Instruction::ShorterHeadline,
            ],
        );
        assert_eq!(headline(&texts, &again).split(' ').count(), 2);
    }
}
