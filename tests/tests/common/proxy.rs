//! A small TCP fault proxy for the reliability tests: it listens on 127.0.0.1
//! port 0 and forwards every connection to a target, with a fault mode that can
//! be switched while connections are open (pass, delay, stall, drop after N
//! bytes, reset, truncate).
//!
//! It owns its own tokio runtime on a background thread, so synchronous tests
//! can use it too. It must never interpret what it forwards: it only moves,
//! holds, cuts or resets bytes, like a bad network would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the bytes it forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward everything at once.
    Pass,
    /// Hold every chunk this long before forwarding it (both directions).
    Delay(Duration),
    /// Stop forwarding but keep every socket open (a hung peer or a black hole).
    Stall,
    /// Reset both sides (RST) once a connection has forwarded this many bytes.
    DropAfter(u64),
    /// Reset every open connection now and every new one at once.
    Reset,
    /// Forward this many bytes of a connection, drop the rest and close cleanly
    /// (FIN): a stream cut in the middle of a TLS record or HTTP/2 frame.
    Truncate(u64),
}

/// How a connection ends when the proxy ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Fin,
    Rst,
}

struct Shared {
    target: Mutex<Option<SocketAddr>>,
    mode: watch::Sender<Mode>,
    /// Bumped by `reset_now`: every connection open at that moment is reset.
    generation: watch::Sender<u64>,
    accepted: AtomicU64,
    open: AtomicU64,
}

/// A running proxy; dropping it stops the listener and every connection.
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy in `Pass` mode; its target is set later with `set_target`
    /// (a node listening on port 0 learns its address only once started).
    pub fn start() -> FaultProxy {
        let (mode, _) = watch::channel(Mode::Pass);
        let (generation, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            target: Mutex::new(None),
            mode,
            generation,
            accepted: AtomicU64::new(0),
            open: AtomicU64::new(0),
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let address = std_listener.local_addr().expect("proxy address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread_shared = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("proxy listener");
                tokio::select! {
                    _ = accept_loop(listener, thread_shared) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime cancels every connection task (sockets close).
            runtime.shutdown_timeout(Duration::from_secs(1));
        });
        FaultProxy {
            address,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Starts a proxy forwarding to `target` at once.
    pub fn to(target: &str) -> FaultProxy {
        let proxy = FaultProxy::start();
        proxy.set_target(target);
        proxy
    }

    /// "127.0.0.1:PORT", the address to give peers instead of the target's.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    pub fn set_target(&self, target: &str) {
        let target: SocketAddr = target.parse().expect("target host:port");
        *self.shared.target.lock().expect("target lock") = Some(target);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.send_replace(mode);
    }

    pub fn mode(&self) -> Mode {
        *self.shared.mode.borrow()
    }

    /// Resets (RST) every connection open now; later ones are not affected.
    pub fn reset_now(&self) {
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// A handle that can reset connections from another thread or task.
    pub fn reset_handle(&self) -> ResetHandle {
        ResetHandle(self.shared.clone())
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open(&self) -> u64 {
        self.shared.open.load(Ordering::SeqCst)
    }
}

/// Resets every connection open through a proxy (see `FaultProxy::reset_now`).
#[derive(Clone)]
pub struct ResetHandle(Arc<Shared>);

impl ResetHandle {
    pub fn reset_now(&self) {
        self.0.generation.send_modify(|g| *g += 1);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let shared = shared.clone();
        tokio::spawn(async move {
            shared.open.fetch_add(1, Ordering::SeqCst);
            connection(client, &shared).await;
            shared.open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// One proxied connection, from accept to close.
async fn connection(client: TcpStream, shared: &Shared) {
    let target = *shared.target.lock().expect("target lock");
    let (Some(target), false) = (target, *shared.mode.borrow() == Mode::Reset) else {
        let _ = client.set_zero_linger();
        return;
    };
    let Ok(server) = TcpStream::connect(target).await else {
        let _ = client.set_zero_linger();
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let (end_tx, end_rx) = watch::channel(None::<End>);
    let forwarded = AtomicU64::new(0);
    let up = pump(
        &mut client_read,
        &mut server_write,
        shared,
        &end_tx,
        end_rx.clone(),
        &forwarded,
    );
    let down = pump(
        &mut server_read,
        &mut client_write,
        shared,
        &end_tx,
        end_rx.clone(),
        &forwarded,
    );
    tokio::join!(up, down);
    if *end_rx.borrow() == Some(End::Rst) {
        // SO_LINGER 0: closing sends RST instead of FIN.
        let _ = AsRef::<TcpStream>::as_ref(&client_read).set_zero_linger();
        let _ = AsRef::<TcpStream>::as_ref(&server_read).set_zero_linger();
    } else {
        let _ = client_write.shutdown().await;
        let _ = server_write.shutdown().await;
    }
}

/// Copies one direction until EOF or until the connection is ended.
async fn pump(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    shared: &Shared,
    end_tx: &watch::Sender<Option<End>>,
    mut end_rx: watch::Receiver<Option<End>>,
    forwarded: &AtomicU64,
) {
    let mut generation = shared.generation.subscribe();
    generation.mark_unchanged();
    let mut mode_rx = shared.mode.subscribe();
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => {
                    // The other direction may still flow (half close).
                    let _ = to.shutdown().await;
                    return;
                }
                Ok(n) => n,
            },
            _ = end_rx.changed() => return,
            _ = generation.changed() => {
                end_tx.send_replace(Some(End::Rst));
                return;
            }
        };
        // Decide what to do with this chunk under the current mode; a stall
        // waits here (holding the chunk) until the mode changes.
        let chunk = &buffer[..n];
        loop {
            let mode = *mode_rx.borrow_and_update();
            match mode {
                Mode::Pass => break,
                Mode::Delay(by) => {
                    tokio::time::sleep(by).await;
                    break;
                }
                Mode::Reset => {
                    end_tx.send_replace(Some(End::Rst));
                    return;
                }
                Mode::DropAfter(limit) | Mode::Truncate(limit) => {
                    let before = forwarded.load(Ordering::SeqCst);
                    let room = limit.saturating_sub(before) as usize;
                    if room >= chunk.len() {
                        break;
                    }
                    let _ = to.write_all(&chunk[..room]).await;
                    forwarded.fetch_add(room as u64, Ordering::SeqCst);
                    let end = match mode {
                        Mode::Truncate(_) => End::Fin,
                        _ => End::Rst,
                    };
                    end_tx.send_replace(Some(end));
                    return;
                }
                Mode::Stall => {
                    tokio::select! {
                        _ = mode_rx.changed() => {}
                        _ = end_rx.changed() => return,
                        _ = generation.changed() => {
                            end_tx.send_replace(Some(End::Rst));
                            return;
                        }
                    }
                }
            }
        }
        if to.write_all(chunk).await.is_err() {
            end_tx.send_replace(Some(End::Rst));
            return;
        }
        forwarded.fetch_add(chunk.len() as u64, Ordering::SeqCst);
    }
}
