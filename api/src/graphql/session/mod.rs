mod mutation;

pub use mutation::SessionMutation;
