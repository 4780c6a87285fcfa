//! Opaque global IDs (Relay): the type name and the row's UUID, base64url-encoded, so clients never
//! build or parse them.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::errors::bad_user_input;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Product,
    Variant,
    Brand,
    Category,
    /// Not fetchable with `node(id:)`: a customer is only ever `me`.
    Customer,
    /// Not fetchable with `node(id:)`: addresses are only seen in their owner's profile.
    Address,
    /// Not fetchable with `node(id:)`: orders are only seen by number, by their customer.
    Order,
    /// Not fetchable with `node(id:)`: staff see zones in `shippingZones`.
    ShippingZone,
    /// Not fetchable with `node(id:)`: shoppers see methods in their cart's options.
    ShippingMethod,
    /// Not fetchable with `node(id:)`: staff see codes in `discountCodes`.
    DiscountCode,
}

impl NodeKind {
    const ALL: [Self; 10] = [
        Self::Product,
        Self::Variant,
        Self::Brand,
        Self::Category,
        Self::Customer,
        Self::Address,
        Self::Order,
        Self::ShippingZone,
        Self::ShippingMethod,
        Self::DiscountCode,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Product => "Product",
            Self::Variant => "Variant",
            Self::Brand => "Brand",
            Self::Category => "Category",
            Self::Customer => "Customer",
            Self::Address => "Address",
            Self::Order => "Order",
            Self::ShippingZone => "ShippingZone",
            Self::ShippingMethod => "ShippingMethod",
            Self::DiscountCode => "DiscountCode",
        }
    }
}

pub fn global_id(kind: NodeKind, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name())))
}

/// The kind and UUID of a global ID, or `None` when it is not one this API made.
pub fn parse_global_id(id: &str) -> Option<(NodeKind, Uuid)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (name, uuid) = text.split_once(':')?;
    let kind = NodeKind::ALL.into_iter().find(|kind| kind.name() == name)?;
    Some((kind, Uuid::parse_str(uuid).ok()?))
}

/// The UUID of global ID `id` of a `kind`; any other ID is bad input.
pub fn uuid_of(id: &ID, kind: NodeKind) -> async_graphql::Result<Uuid> {
    match parse_global_id(id) {
        Some((found, uuid)) if found == kind => Ok(uuid),
        _ => Err(bad_user_input(&format!("not an ID of a {kind:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_refuse_strangers() {
        let id = Uuid::now_v7();
        let encoded = global_id(NodeKind::Variant, id);
        assert_eq!(parse_global_id(&encoded), Some((NodeKind::Variant, id)));
        assert_eq!(parse_global_id("garbage"), None);
        assert_eq!(parse_global_id(&URL_SAFE_NO_PAD.encode(format!("Shirt:{id}"))), None);
        assert_eq!(parse_global_id(&URL_SAFE_NO_PAD.encode("Product:not-a-uuid")), None);
    }
}
