//! Where the embedded tracking server listens: loopback only, on the port
//! asked for or the next free one, so a second app or an `mlflow server`
//! already on 5000 does not stop the app from opening.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// MLflow's own default, so `MLFLOW_TRACKING_URI=http://127.0.0.1:5000`
/// in existing scripts keeps working.
pub const DEFAULT_PORT: u16 = 5000;

/// How many ports after the first are tried.
const SEARCH: u16 = 100;

/// Binds 127.0.0.1 on `first`, or on the next free port after it.
pub fn bind_loopback(first: u16) -> std::io::Result<TcpListener> {
    let mut last_error = None;
    for port in candidates(first) {
        match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))) {
            Ok(listener) => {
                if port != first {
                    tracing::warn!(asked = first, port, "port taken; listening on the next free one");
                }
                return Ok(listener);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no port to try")))
}

fn candidates(first: u16) -> impl Iterator<Item = u16> {
    (0..=SEARCH).map_while(move |i| first.checked_add(i)).filter(|&p| p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_moves_to_the_next_free_one_on_loopback() {
        let taken = bind_loopback(DEFAULT_PORT + 200).unwrap();
        let port = taken.local_addr().unwrap().port();
        let next = bind_loopback(port).unwrap();
        let addr = next.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        assert!(addr.port() > port, "{addr}");
    }

    #[test]
    fn candidates_stay_in_range() {
        assert_eq!(candidates(65_534).collect::<Vec<_>>(), vec![65_534, 65_535]);
        assert_eq!(candidates(5000).count(), 101);
    }
}
