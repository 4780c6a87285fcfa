mod mutation;

pub use mutation::{LoginInput, SessionMutation, charge_sign_in, hand_out, limited_login};
