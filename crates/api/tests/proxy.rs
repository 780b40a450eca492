//! A TCP proxy between the service and its PostgreSQL server that a test can cut (every connection
//! closed, new ones dropped at once) and restore: the database "goes away" and comes back.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub struct Proxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (c, o) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if c.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let mut list = o.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                pump(client.try_clone().unwrap(), server.try_clone().unwrap());
                pump(server, client);
            }
        });
        Self { addr, cut, open }
    }

    /// The database becomes unreachable.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// The database is reachable again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    /// A PostgreSQL URL with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (head, rest) = url.split_once('@').unwrap();
        let (_, tail) = rest.split_once('/').unwrap();
        format!("{head}@{}/{tail}", self.addr)
    }
}

/// The address a PostgreSQL URL points to.
pub fn target_of(url: &str) -> SocketAddr {
    let (_, rest) = url.split_once('@').unwrap();
    let (hostport, _) = rest.split_once('/').unwrap();
    hostport.parse().unwrap()
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
