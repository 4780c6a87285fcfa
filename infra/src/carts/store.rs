//! The cart store: carts in Redis, keyed by their owner (a guest session or a customer): one hash per cart, a field per variant holding
//! `quantity|unit price when added|added at (µs)`, and the field `discount` holding the discount code
//! applied to it, if any. Every change is one Lua script, so it is atomic (two
//! tabs adding at once never lose an update), checks the limits, renews the sliding expiry, and returns
//! the whole cart in the same round trip, refused or not. A shopper's change, and a look at the cart
//! when a change is refused before it gets here, first checks in the same script that the shopper's
//! session has not ended, so that a cart write is one round trip. The append-only file keeps carts
//! across Redis restarts.
//!
//! In a Redis Cluster a cart lives in its owner's slot, with the keys of the sessions that show it, so
//! those scripts still see all they need. Only a merge spans two owners: there it is three steps (see
//! `merge_across_slots`).

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use domain::cart::{CartOwner, MAX_LINES, Quantity};
use domain::discount::Code;
use redis::Script;
use uuid::Uuid;

use crate::digest;
use crate::redis::RedisStore;
use crate::session_registry::{Liveness, SESSION_ENDED};

/// One line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLine {
    pub variant_id: Uuid,
    pub quantity: u32,
    /// The unit price when the line was added, in minor units, to tell the shopper if it changed.
    pub price_when_added: i64,
    /// Microseconds since the epoch; lines are listed in the order they were added.
    pub added_at: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredCart {
    pub lines: Vec<StoredLine>,
    /// The discount code applied to it, checked when it was applied and again at checkout.
    pub discount_code: Option<Code>,
}

/// The cart hash's field that holds its discount code (`DISCOUNT` in the scripts): no variant's id
/// looks like it.
const DISCOUNT_FIELD: &str = "discount";

/// Why a cart change was refused; the cart is unchanged, and comes with the refusal from the script
/// that refused it, so a refused change is one round trip too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartRejection {
    /// The line would hold more than `Quantity::MAX`.
    QuantityLimit(StoredCart),
    /// The cart has `MAX_LINES` lines already.
    LineLimit(StoredCart),
    /// The session it was made for has ended (logged out, or all of its account's sessions).
    SessionEnded,
}

pub type StoredChange = Result<Result<StoredCart, CartRejection>, crate::Error>;

/// Parses a stored line; shared by the scripts below.
const LINE: &str = r"
local function line(value)
  local quantity, price, added = string.match(value, '^(%d+)|(%-?%d+)|(%d+)$')
  return tonumber(quantity), price, added
end
local function now()
  local time = redis.call('TIME')
  return time[1] .. string.format('%06d', tonumber(time[2]))
end
local function line_count(cart)
  return redis.call('HLEN', cart) - redis.call('HEXISTS', cart, DISCOUNT)
end
";

/// The scripts of the changes below, each with the `prelude` before it; a shopper's with
/// `SESSION_ENDED` too.
static ADD_SCRIPT: LazyLock<Script> = LazyLock::new(|| for_session(ADD));
static SET_QUANTITY_SCRIPT: LazyLock<Script> = LazyLock::new(|| for_session(SET_QUANTITY));
static CLEAR_SCRIPT: LazyLock<Script> = LazyLock::new(|| for_session(CLEAR));
static LOOK_SCRIPT: LazyLock<Script> = LazyLock::new(|| for_session(LOOK));
static MERGE_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_line(&format!("{MERGE_LINES}{MERGE}")));
static MERGE_IN_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_line(&format!("{MERGE_LINES}{MERGE_IN}")));
static TAKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_line(TAKE));
static SET_CODE_SCRIPT: LazyLock<Script> = LazyLock::new(|| for_session(SET_CODE));
static REMOVE_CODE_SCRIPT: LazyLock<Script> = LazyLock::new(|| for_session(REMOVE_CODE));

fn with_line(body: &str) -> Script {
    Script::new(&format!("{}{body}", prelude()))
}

/// What every script starts with: `LINE`, and the discount code's field as `DISCOUNT`.
fn prelude() -> String {
    format!("local DISCOUNT = '{DISCOUNT_FIELD}'\n{LINE}")
}

/// A script made for a shopper's session: KEYS[1] the cart, then the session's keys; ARGV[1] its
/// token's generation, then the body's own arguments. Nothing is done when the session has ended.
fn for_session(body: &str) -> Script {
    Script::new(&format!(
        "{}{SESSION_ENDED}if session_ended() then return {{'SESSION_ENDED', {{}}}} end\n{body}",
        prelude()
    ))
}

/// ARGV[2…] variant, quantity, unit price, most per line, most lines, expiry (ms).
const ADD: &str = r"
local current = redis.call('HGET', KEYS[1], ARGV[2])
if current then
  local quantity, price, added = line(current)
  local total = quantity + tonumber(ARGV[3])
  if total > tonumber(ARGV[5]) then return {'QUANTITY_LIMIT', redis.call('HGETALL', KEYS[1])} end
  redis.call('HSET', KEYS[1], ARGV[2], total .. '|' .. price .. '|' .. added)
else
  if line_count(KEYS[1]) >= tonumber(ARGV[6]) then return {'LINE_LIMIT', redis.call('HGETALL', KEYS[1])} end
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3] .. '|' .. ARGV[4] .. '|' .. now())
end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return {'OK', redis.call('HGETALL', KEYS[1])}
";

/// ARGV[2…] variant, quantity (0 removes the line), unit price, most lines, expiry (ms).
const SET_QUANTITY: &str = r"
if ARGV[3] == '0' then
  redis.call('HDEL', KEYS[1], ARGV[2])
else
  local current = redis.call('HGET', KEYS[1], ARGV[2])
  if current then
    local _, price, added = line(current)
    redis.call('HSET', KEYS[1], ARGV[2], ARGV[3] .. '|' .. price .. '|' .. added)
  else
    if line_count(KEYS[1]) >= tonumber(ARGV[5]) then return {'LINE_LIMIT', redis.call('HGETALL', KEYS[1])} end
    redis.call('HSET', KEYS[1], ARGV[2], ARGV[3] .. '|' .. ARGV[4] .. '|' .. now())
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {'OK', redis.call('HGETALL', KEYS[1])}
";

const CLEAR: &str = r"
redis.call('DEL', KEYS[1])
return {'OK', {}}
";

/// The cart as it is.
const LOOK: &str = r"
return {'OK', redis.call('HGETALL', KEYS[1])}
";

/// `merge_lines(into, from)` merges the fields `from` (field, value, …) of a cart into the cart
/// `into`, ARGV[1] most per line, ARGV[2] most lines: quantities add up to the limit; lines beyond
/// the line limit are dropped; the staying cart's discount code stays, or the going one's comes
/// along.
const MERGE_LINES: &str = r"
local function merge_lines(into, from)
  for i = 1, #from, 2 do
    local variant, value = from[i], from[i + 1]
    local current = redis.call('HGET', into, variant)
    if variant == DISCOUNT then
      redis.call('HSETNX', into, variant, value)
    elseif current then
      local quantity, price, added = line(current)
      local total = math.min(quantity + line(value), tonumber(ARGV[1]))
      redis.call('HSET', into, variant, total .. '|' .. price .. '|' .. added)
    elseif line_count(into) < tonumber(ARGV[2]) then
      redis.call('HSET', into, variant, value)
    end
  end
end
";

/// KEYS[1] the cart that goes, KEYS[2] the cart that stays; ARGV most per line, most lines, expiry.
const MERGE: &str = r"
merge_lines(KEYS[2], redis.call('HGETALL', KEYS[1]))
redis.call('DEL', KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {'OK', redis.call('HGETALL', KEYS[2])}
";

/// KEYS[1] the cart that stays, KEYS[2] the mark of these lines' merge; ARGV most per line, most
/// lines, expiry, how long the mark is kept (ms), then the fields of the lines that come. Lines
/// whose mark is there were merged already, and are not again.
const MERGE_IN: &str = r"
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4]) then merge_lines(KEYS[1], {unpack(ARGV, 5)}) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'OK', redis.call('HGETALL', KEYS[1])}
";

/// Rounds of a merge across slots: each one moves what was added to the going cart during the one
/// before (a shopper adding while logging in).
const MERGE_ROUNDS: usize = 3;
/// How long a merge's mark is kept: past any retry of the login that made it.
const MERGE_MARK_KEPT: Duration = Duration::from_secs(600);

/// KEYS[1] the cart; ARGV[1] the expiry (ms), then pairs of variant and quantity to take out. A line
/// keeps what was added to it beyond the quantity taken; the discount code goes with the order.
const TAKE: &str = r"
redis.call('HDEL', KEYS[1], DISCOUNT)
for i = 2, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if current then
    local quantity, price, added = line(current)
    local left = quantity - tonumber(ARGV[i + 1])
    if left > 0 then
      redis.call('HSET', KEYS[1], ARGV[i], left .. '|' .. price .. '|' .. added)
    else
      redis.call('HDEL', KEYS[1], ARGV[i])
    end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {'OK', redis.call('HGETALL', KEYS[1])}
";

/// ARGV[2…] the code, the expiry (ms).
const SET_CODE: &str = r"
redis.call('HSET', KEYS[1], DISCOUNT, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'OK', redis.call('HGETALL', KEYS[1])}
";

const REMOVE_CODE: &str = r"
redis.call('HDEL', KEYS[1], DISCOUNT)
return {'OK', redis.call('HGETALL', KEYS[1])}
";

pub struct CartStore {
    redis: Arc<RedisStore>,
    /// A cart expires this long after its last change.
    expiry: Duration,
}

impl CartStore {
    pub fn new(redis: Arc<RedisStore>, expiry: Duration) -> Self {
        Self { redis, expiry }
    }

    /// The cart of `owner`, for a caller whose session was checked already.
    pub async fn get(&self, owner: &CartOwner) -> Result<StoredCart, crate::Error> {
        let key = self.key(owner);
        let fields: Vec<String> = self
            .redis
            .run(|mut c| async move { redis::cmd("HGETALL").arg(key).query_async(&mut c).await })
            .await?;
        parse_cart(&fields)
    }

    /// The cart of `owner`, unless the session of `liveness` has ended.
    pub async fn look(&self, owner: &CartOwner, liveness: &Liveness) -> StoredChange {
        if self.ended_apart(liveness).await? {
            return Ok(Err(CartRejection::SessionEnded));
        }
        let (keys, args) = self.session_call(owner, liveness, vec![]);
        // A read: nothing for the replicas to hold, so no wait for them.
        answer(self.redis.eval(&LOOK_SCRIPT, keys, args).await?)
    }

    /// Adds `quantity` of a variant priced `price` now; an existing line grows.
    pub async fn add(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
        variant: Uuid,
        quantity: Quantity,
        price: i64,
    ) -> StoredChange {
        let args =
            [variant.to_string(), quantity.get().to_string(), price.to_string(), Quantity::MAX.to_string()];
        let args = [&args[..], &[MAX_LINES.to_string(), self.expiry_ms()]].concat();
        self.for_session(&ADD_SCRIPT, owner, liveness, args).await
    }

    /// Sets a line's quantity; a variant not in the cart is added at `price`.
    pub async fn set_quantity(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
        variant: Uuid,
        quantity: Quantity,
        price: i64,
    ) -> StoredChange {
        self.set_line(owner, liveness, variant, quantity.get(), price).await
    }

    pub async fn remove(&self, owner: &CartOwner, liveness: &Liveness, variant: Uuid) -> StoredChange {
        self.set_line(owner, liveness, variant, 0, 0).await
    }

    /// Sets a line's quantity, 0 removing it.
    async fn set_line(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
        variant: Uuid,
        quantity: u32,
        price: i64,
    ) -> StoredChange {
        let args = vec![
            variant.to_string(),
            quantity.to_string(),
            price.to_string(),
            MAX_LINES.to_string(),
            self.expiry_ms(),
        ];
        self.for_session(&SET_QUANTITY_SCRIPT, owner, liveness, args).await
    }

    pub async fn clear(&self, owner: &CartOwner, liveness: &Liveness) -> StoredChange {
        self.for_session(&CLEAR_SCRIPT, owner, liveness, vec![]).await
    }

    /// Applies discount `code` to the cart, in place of any other.
    pub async fn set_code(&self, owner: &CartOwner, liveness: &Liveness, code: &Code) -> StoredChange {
        let args = vec![code.as_str().to_owned(), self.expiry_ms()];
        self.for_session(&SET_CODE_SCRIPT, owner, liveness, args).await
    }

    pub async fn remove_code(&self, owner: &CartOwner, liveness: &Liveness) -> StoredChange {
        self.for_session(&REMOVE_CODE_SCRIPT, owner, liveness, vec![]).await
    }

    /// Moves the cart of `from` into the cart of `into` in one atomic step: quantities add up to the
    /// limit, lines beyond the line limit are dropped, and `from`'s cart is gone.
    pub async fn merge(&self, from: &CartOwner, into: &CartOwner) -> Result<StoredCart, crate::Error> {
        if self.redis.is_cluster() {
            return self.merge_across_slots(from, into).await;
        }
        let merged =
            self.change(&MERGE_SCRIPT, vec![self.key(from), self.key(into)], self.merge_args()).await?;
        Ok(merged.expect("a merge is never refused"))
    }

    /// `merge` where the two carts are in different slots of a cluster, so that no script sees both:
    /// the going cart's lines are read, merged into the staying cart under a mark of what was read
    /// (a login retried after a crash between the steps merges them once), then taken out of the
    /// going cart as an order takes its lines; whatever was added to it meanwhile stays there, and
    /// goes in the next round.
    async fn merge_across_slots(
        &self,
        from: &CartOwner,
        into: &CartOwner,
    ) -> Result<StoredCart, crate::Error> {
        let mut merged = None;
        for _ in 0..MERGE_ROUNDS {
            let going = self.key(from);
            let fields: Vec<String> = self
                .redis
                .run(|mut c| async move { redis::cmd("HGETALL").arg(going).query_async(&mut c).await })
                .await?;
            if fields.is_empty() {
                break;
            }
            let mark = self.redis.key_in_slot(
                into,
                &format!("cart:{into}:merged:{}", digest::sha256_hex(fields.join("\n").as_bytes(), 16)),
            );
            let mut args = self.merge_args();
            args.push(MERGE_MARK_KEPT.as_millis().to_string());
            args.extend(fields.iter().cloned());
            let staying = self.change(&MERGE_IN_SCRIPT, vec![self.key(into), mark], args).await?;
            merged = Some(staying.expect("a merge is never refused"));
            let lines = parse_cart(&fields)?.lines;
            let taken: Vec<(Uuid, u32)> = lines.iter().map(|line| (line.variant_id, line.quantity)).collect();
            self.take(from, &taken).await?;
        }
        match merged {
            Some(cart) => Ok(cart),
            None => self.get(into).await,
        }
    }

    fn merge_args(&self) -> Vec<String> {
        vec![Quantity::MAX.to_string(), MAX_LINES.to_string(), self.expiry_ms()]
    }

    /// Takes `lines` (variant, quantity) out of the cart in one atomic step, as an order took them:
    /// whatever was added meanwhile stays.
    pub async fn take(&self, owner: &CartOwner, lines: &[(Uuid, u32)]) -> Result<StoredCart, crate::Error> {
        let mut args = vec![self.expiry_ms()];
        args.extend(lines.iter().flat_map(|(variant, quantity)| [variant.to_string(), quantity.to_string()]));
        let taken = self.change(&TAKE_SCRIPT, vec![self.key(owner)], args).await?;
        Ok(taken.expect("taking lines out is never refused"))
    }

    /// Runs a script made `for_session` that changes the cart of `owner`.
    async fn for_session(
        &self,
        script: &'static Script,
        owner: &CartOwner,
        liveness: &Liveness,
        args: Vec<String>,
    ) -> StoredChange {
        if self.ended_apart(liveness).await? {
            return Ok(Err(CartRejection::SessionEnded));
        }
        let (keys, args) = self.session_call(owner, liveness, args);
        self.change(script, keys, args).await
    }

    /// Whether the session's account started a generation after the session's, when that is read
    /// apart from the cart (see `Liveness`).
    async fn ended_apart(&self, liveness: &Liveness) -> Result<bool, crate::Error> {
        let Some(key) = liveness.generation_apart.clone() else { return Ok(false) };
        let current: Option<u64> = self
            .redis
            .run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await?;
        Ok(current.unwrap_or(0) > liveness.generation)
    }

    /// The keys and arguments of a script made `for_session`.
    fn session_call(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
        args: Vec<String>,
    ) -> (Vec<String>, Vec<String>) {
        let keys = std::iter::once(self.key(owner)).chain(liveness.keys.iter().cloned()).collect();
        let args = std::iter::once(liveness.generation.to_string()).chain(args).collect();
        (keys, args)
    }

    /// Runs a script that changes a cart; its answer waits for the replicas when they are waited for.
    async fn change(&self, script: &'static Script, keys: Vec<String>, args: Vec<String>) -> StoredChange {
        answer(self.redis.eval_replicated(script, keys, args).await?)
    }

    /// The Redis key of the cart of `owner` (for tests and operators).
    pub fn key(&self, owner: &CartOwner) -> String {
        self.redis.key_in_slot(owner, &format!("cart:{owner}"))
    }

    fn expiry_ms(&self) -> String {
        self.expiry.as_millis().to_string()
    }
}

/// A cart script's answer: its status and the cart.
fn answer((status, fields): (String, Vec<String>)) -> StoredChange {
    let cart = parse_cart(&fields)?;
    Ok(match status.as_str() {
        "OK" => Ok(cart),
        "QUANTITY_LIMIT" => Err(CartRejection::QuantityLimit(cart)),
        "SESSION_ENDED" => Err(CartRejection::SessionEnded),
        _ => Err(CartRejection::LineLimit(cart)),
    })
}

/// The cart in a `HGETALL` answer, lines in the order they were added.
fn parse_cart(fields: &[String]) -> Result<StoredCart, crate::Error> {
    let mut discount_code = None;
    let mut lines = fields
        .chunks(2)
        .filter(|pair| match pair {
            [field, code] if field == DISCOUNT_FIELD => {
                discount_code = Code::parse(code);
                false
            }
            _ => true,
        })
        .map(|pair| {
            let bad = || anyhow::anyhow!("a stored cart line is malformed: {pair:?}");
            let [variant, value] = pair else { return Err(bad()) };
            let mut parts = value.split('|');
            let mut next = || parts.next().ok_or_else(bad);
            Ok(StoredLine {
                variant_id: Uuid::parse_str(variant).map_err(|_| bad())?,
                quantity: next()?.parse().map_err(|_| bad())?,
                price_when_added: next()?.parse().map_err(|_| bad())?,
                added_at: next()?.parse().map_err(|_| bad())?,
            })
        })
        .collect::<Result<Vec<_>, anyhow::Error>>()?;
    lines.sort_by_key(|line| (line.added_at, line.variant_id));
    Ok(StoredCart { lines, discount_code })
}
