mod mutation;

pub use mutation::{LoginInput, SessionMutation, hand_out, limited_login};
