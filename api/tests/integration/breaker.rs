//! The Redis breaker: after an outage, calls fail at once for a moment, then one call at a time tries
//! Redis again, and Redis is used as soon as it answers.

use std::time::Duration;

use infra::redis::{RedisSettings, RedisStore, Topology};
use secrecy::SecretString;

use crate::support::Stack;
use crate::support::tcp_proxy::TcpProxy;

async fn ping(store: &RedisStore) -> Result<String, infra::Error> {
    store.run(|mut c| async move { deadpool_redis::redis::cmd("PING").query_async(&mut c).await }).await
}

/// The call that tries Redis again may be dropped half-way (its client went away): the next call
/// must try again, and Redis must be used once it answers.
#[tokio::test]
async fn a_probe_cut_off_midway_does_not_leave_redis_unused() {
    let proxy = TcpProxy::start(Stack::get().redis_port()).await;
    let url = Stack::get().redis_url_on(proxy.port);
    let settings = RedisSettings {
        url: SecretString::from(url),
        ca: None,
        topology: Topology::Single,
        replicated_writes: None,
        pool_size: 2,
        timeout: Duration::from_millis(200),
        key_prefix: "breaker:".to_owned(),
    };
    let store = RedisStore::connect(&settings).unwrap();
    assert_eq!(ping(&store).await.unwrap(), "PONG");

    proxy.pause();
    assert!(matches!(ping(&store).await, Err(infra::Error::RedisUnavailable(_))), "Redis hangs");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let probe = tokio::time::timeout(Duration::from_millis(50), ping(&store)).await;
    assert!(probe.is_err(), "the probe was cut off while it waited on Redis");
    proxy.resume();

    let mut answered = false;
    for _ in 0..40 {
        if ping(&store).await.is_ok() {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "Redis answers again, but the instance never used it");
}
