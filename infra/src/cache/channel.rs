//! The channel of invalidations: every invalidation of the catalogue is published on it by the script
//! that makes it, so in the order Redis applies them, and each instance follows it to keep its near
//! cache coherent, publishing ticks on it to know that it is on time and how far it has applied.

use std::sync::{Arc, LazyLock, Weak};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use redis::Script;
use uuid::Uuid;

use super::near::{NearCache, TICK_EVERY};
use crate::redis::RedisStore;

/// Waited before subscribing again after the subscription dropped or could not be made.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);
/// A subscription that has not brought back one of our ticks for this long is taken for lost.
const STALLED_AFTER: Duration = Duration::from_secs(5);

/// A message on the channel.
#[derive(Debug, PartialEq, Eq)]
enum Message<'a> {
    /// The entries showing any of `tags` go, or every entry with `everything`: the invalidation
    /// numbered `number` (none from an instance older than the numbers).
    Forget { everything: bool, tags: Vec<&'a str>, number: Option<u64> },
    /// An instance's tick, sent at `sent_ms` of its near cache's clock after the invalidation
    /// numbered `published`.
    Tick { instance: &'a str, sent_ms: u64, published: u64 },
}

impl<'a> Message<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut words = text.split(' ');
        match words.next()? {
            "forget" => {
                let everything = words.next()? == "1";
                let mut tags: Vec<&str> = words.collect();
                let number = tags.last().and_then(|last| last.strip_prefix(NUMBER)?.parse().ok());
                if number.is_some() {
                    tags.pop();
                }
                Some(Self::Forget { everything, tags, number })
            }
            "tick" => Some(Self::Tick {
                instance: words.next()?,
                sent_ms: words.next()?.parse().ok()?,
                // An instance older than the numbers tells none.
                published: words.next().map_or(Some(0), |number| number.parse().ok())?,
            }),
            _ => None,
        }
    }
}

/// What an invalidation publishes, but for its number, which the script that numbers it adds at the
/// end (behind `NUMBER`, which no tag begins with: an instance older than the numbers takes it for a
/// tag and forgets a little more): the entries of `tags` go, or every entry with `everything`.
pub(super) fn forget_message(everything: bool, tags: &[String]) -> String {
    let everything = if everything { "1" } else { "0" };
    ["forget", everything].into_iter().chain(tags.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
}

/// What the number of an invalidation follows in its message.
pub(super) const NUMBER: &str = "#";

/// KEYS[1] the count of invalidations published; ARGV[1] the channel, ARGV[2] the tick without that
/// count. Publishes the tick with the count: the invalidations it counts were published before it.
static TICK_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TICK));
const TICK: &str = r"
return redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. (redis.call('GET', KEYS[1]) or '0'))
";

/// Follows `channel` for `near` until `near` is dropped: applies what is published and ticks (with
/// the count of invalidations under `published`). While there is no subscription, `near` serves
/// nothing; each new one starts with `near` emptied, as what was published in between will never
/// come.
pub(super) async fn follow(
    redis: Arc<RedisStore>,
    near: Weak<NearCache>,
    channel: String,
    published: String,
) {
    let instance = Uuid::now_v7().to_string();
    loop {
        match redis.subscribe(&channel).await {
            Ok(mut subscription) => {
                let Some(cache) = near.upgrade() else { return };
                cache.reset();
                drop(cache);
                let ticker = Ticker { channel: &channel, published: &published, instance: &instance };
                if listen(&redis, &near, &ticker, subscription.on_message()).await == Ended::CacheGone {
                    return;
                }
                tracing::warn!(
                    "the channel of cache invalidations dropped; the near cache is bypassed until it is back"
                );
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot follow the cache invalidations; the near cache is bypassed")
            }
        }
        let Some(cache) = near.upgrade() else { return };
        cache.reset();
        drop(cache);
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The subscription dropped, or brought back none of our ticks for too long.
    Lost,
    /// The near cache was dropped: nothing to follow for.
    CacheGone,
}

/// Where an instance's ticks go, what they count, and whose they are.
struct Ticker<'a> {
    channel: &'a str,
    published: &'a str,
    instance: &'a str,
}

/// Applies the messages of one subscription and ticks, until the subscription is lost or the near
/// cache gone.
async fn listen(
    redis: &RedisStore,
    near: &Weak<NearCache>,
    ticker: &Ticker<'_>,
    messages: impl Stream<Item = redis::Msg>,
) -> Ended {
    let mut ticks = tokio::time::interval(TICK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_back = Instant::now();
    let mut messages = std::pin::pin!(messages);
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return Ended::Lost };
                let Some(cache) = near.upgrade() else { return Ended::CacheGone };
                let text = String::from_utf8_lossy(message.get_payload_bytes());
                match Message::parse(&text) {
                    // Messages come in the order they were published, so whatever number one
                    // carries, every invalidation up to it has been applied once it is.
                    Some(Message::Forget { everything, tags, number }) => {
                        cache.forget(everything, tags);
                        cache.applied_through(number.unwrap_or(0));
                    }
                    Some(Message::Tick { instance, sent_ms, published }) if instance == ticker.instance => {
                        cache.tick_returned(sent_ms, published);
                        last_back = Instant::now();
                    }
                    Some(Message::Tick { published, .. }) => cache.applied_through(published),
                    None => tracing::warn!(message = %text, "an unknown message on the channel of cache invalidations"),
                }
            }
            _ = ticks.tick() => {
                if last_back.elapsed() > STALLED_AFTER {
                    return Ended::Lost;
                }
                let Some(cache) = near.upgrade() else { return Ended::CacheGone };
                let tick = format!("tick {} {}", ticker.instance, cache.now_ms());
                drop(cache);
                let keys = vec![ticker.published.to_owned()];
                let published = redis.eval::<i64>(&TICK_SCRIPT, keys, (ticker.channel, tick)).await;
                if let Err(err) = published {
                    tracing::debug!(error = %err, "a tick of the near cache was not published");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_an_invalidation_publishes_reads_back() {
        let tags = vec!["stock:a".to_owned(), "listings:stocked".to_owned()];
        let numbered = |message: String, number: u64| format!("{message} {NUMBER}{number}");
        assert_eq!(
            Message::parse(&numbered(forget_message(false, &tags), 5)),
            Some(Message::Forget {
                everything: false,
                tags: vec!["stock:a", "listings:stocked"],
                number: Some(5)
            })
        );
        assert_eq!(
            Message::parse(&numbered(forget_message(true, &[]), 6)),
            Some(Message::Forget { everything: true, tags: vec![], number: Some(6) })
        );
        assert_eq!(
            Message::parse(&forget_message(false, &tags)),
            Some(Message::Forget {
                everything: false,
                tags: vec!["stock:a", "listings:stocked"],
                number: None
            }),
            "as an instance older than the numbers publishes it"
        );
    }

    #[test]
    fn ticks_read_back_and_anything_else_is_unknown() {
        assert_eq!(
            Message::parse("tick abc 1250 17"),
            Some(Message::Tick { instance: "abc", sent_ms: 1250, published: 17 })
        );
        assert_eq!(
            Message::parse("tick abc 1250"),
            Some(Message::Tick { instance: "abc", sent_ms: 1250, published: 0 }),
            "as an instance older than the numbers ticks"
        );
        for unknown in ["", "tick abc", "tick abc soon 17", "tick abc 1250 many", "hello"] {
            assert_eq!(Message::parse(unknown), None, "{unknown}");
        }
    }
}
