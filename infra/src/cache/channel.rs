//! The channel of invalidations: every invalidation of the catalogue is published on it by the script
//! that makes it, so in the order Redis applies them, and each instance follows it to keep its near
//! cache coherent, publishing ticks on it to know that it is on time.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
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
    /// The entries showing any of `tags` go, or every entry with `everything`.
    Forget { everything: bool, tags: Vec<&'a str> },
    /// An instance's tick, sent at `sent_ms` of its near cache's clock.
    Tick { instance: &'a str, sent_ms: u64 },
}

impl<'a> Message<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut words = text.split(' ');
        match words.next()? {
            "forget" => {
                let everything = words.next()? == "1";
                Some(Self::Forget { everything, tags: words.collect() })
            }
            "tick" => Some(Self::Tick { instance: words.next()?, sent_ms: words.next()?.parse().ok()? }),
            _ => None,
        }
    }
}

/// What an invalidation publishes: the entries of `tags` go, or every entry with `everything`.
pub(super) fn forget_message(everything: bool, tags: &[String]) -> String {
    let everything = if everything { "1" } else { "0" };
    ["forget", everything].into_iter().chain(tags.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
}

/// Follows `channel` for `near` until `near` is dropped: applies what is published and ticks. While
/// there is no subscription, `near` serves nothing; each new one starts with `near` emptied, as what
/// was published in between will never come.
pub(super) async fn follow(redis: Arc<RedisStore>, near: Weak<NearCache>, channel: String) {
    let instance = Uuid::now_v7().to_string();
    loop {
        match redis.subscribe(&channel).await {
            Ok(mut subscription) => {
                let Some(cache) = near.upgrade() else { return };
                cache.reset();
                drop(cache);
                if listen(&redis, &near, &channel, &instance, subscription.on_message()).await
                    == Ended::CacheGone
                {
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

/// Applies the messages of one subscription and ticks, until the subscription is lost or the near
/// cache gone.
async fn listen(
    redis: &RedisStore,
    near: &Weak<NearCache>,
    channel: &str,
    instance: &str,
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
                    Some(Message::Forget { everything, tags }) => cache.forget(everything, tags),
                    Some(Message::Tick { instance: sender, sent_ms }) if sender == instance => {
                        cache.tick_returned(sent_ms);
                        last_back = Instant::now();
                    }
                    Some(Message::Tick { .. }) => {}
                    None => tracing::warn!(message = %text, "an unknown message on the channel of cache invalidations"),
                }
            }
            _ = ticks.tick() => {
                if last_back.elapsed() > STALLED_AFTER {
                    return Ended::Lost;
                }
                let Some(cache) = near.upgrade() else { return Ended::CacheGone };
                let tick = format!("tick {instance} {}", cache.now_ms());
                drop(cache);
                let published = redis
                    .run(|mut connection| async move {
                        redis::cmd("PUBLISH").arg(channel).arg(tick).query_async::<i64>(&mut connection).await
                    })
                    .await;
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
        let message = forget_message(false, &tags);
        assert_eq!(
            Message::parse(&message),
            Some(Message::Forget { everything: false, tags: vec!["stock:a", "listings:stocked"] })
        );
        assert_eq!(
            Message::parse(&forget_message(true, &[])),
            Some(Message::Forget { everything: true, tags: vec![] })
        );
    }

    #[test]
    fn ticks_read_back_and_anything_else_is_unknown() {
        assert_eq!(Message::parse("tick abc 1250"), Some(Message::Tick { instance: "abc", sent_ms: 1250 }));
        for unknown in ["", "tick abc", "tick abc soon", "hello"] {
            assert_eq!(Message::parse(unknown), None, "{unknown}");
        }
    }
}
