//! `[[peer]] tcp_ao`: the peer's TCP-AO Master Key Tuples (RFC 5925 3.1)
//! with the MAC algorithms of RFC 5926. Whether the kernel has TCP-AO is
//! not a property of the file: `vipd run` and a reload check it.

use toml::Spanned;

use super::super::raw::{RawPeer, RawTcpAoKey};
use super::super::{TcpAoAlgorithm, TcpAoKey};
use super::{Checked, Validator};
use crate::bgp::sockopt::TCP_AO_MAX_KEY_LEN;

/// The accepted `algorithm` values.
const ALGORITHMS: [(&str, TcpAoAlgorithm); 2] = [
    ("hmac-sha1", TcpAoAlgorithm::HmacSha1),
    ("aes-128-cmac", TcpAoAlgorithm::AesCmac128),
];

impl Validator<'_> {
    /// Every key, then the rules between them and with `password`.
    pub(super) fn tcp_ao(&mut self, i: usize, raw: &Spanned<RawPeer>) -> Checked<Vec<TcpAoKey>> {
        let p = raw.get_ref();
        let Some(items) = &p.tcp_ao else {
            return Ok(Vec::new());
        };
        let key = format!("peer[{i}].tcp_ao");
        let Some(first) = items.first() else {
            return Err(self.report_at(
                Some(raw.span().start),
                &key,
                "an empty list: give at least one key, or remove tcp_ao",
            ));
        };
        let checked: Vec<Checked<TcpAoKey>> = items
            .iter()
            .enumerate()
            .map(|(j, item)| self.tcp_ao_key(&format!("{key}[{j}]"), item))
            .collect();
        let result = checked.into_iter().collect::<Checked<Vec<TcpAoKey>>>();
        // RFC 5925 2.2 and 7.1: a connection is protected by TCP-AO or by
        // TCP-MD5, never both; Linux refuses an AO key for a peer that has
        // an MD5 key.
        let password = match &p.password {
            Some(_) => Err(self.report(
                &first.span(),
                &key,
                "tcp_ao and password cannot both be set: a session uses TCP-AO (RFC 5925) \
                 or TCP-MD5 (RFC 2385), never both; remove one of them",
            )),
            None => Ok(()),
        };
        // RFC 5925 3.1: the KeyID on a segment picks the key, so no two keys
        // of a connection may share a SendID, nor a RecvID.
        let mut clash = Ok(());
        let keys: &[TcpAoKey] = result.as_deref().unwrap_or_default();
        for (j, k) in keys.iter().enumerate() {
            let earlier = &keys[..j];
            let same = |f: fn(&TcpAoKey) -> u8| earlier.iter().position(|e| f(e) == f(k));
            for (name, pos, id) in [
                ("send_id", same(|k| k.send_id), k.send_id),
                ("recv_id", same(|k| k.recv_id), k.recv_id),
            ] {
                if let Some(pos) = pos {
                    clash = Err(self.report(
                        &items[j].span(),
                        &format!("{key}[{j}].{name}"),
                        format!(
                            "{name} {id} is also the {name} of {key}[{pos}]: each key of a \
                             session needs its own {name} (RFC 5925 3.1)"
                        ),
                    ));
                }
            }
        }
        password?;
        clash?;
        result
    }

    fn tcp_ao_key(&mut self, key: &str, item: &Spanned<RawTcpAoKey>) -> Checked<TcpAoKey> {
        let at = Some(item.span().start);
        let k = item.get_ref();
        let sub = |name: &str| format!("{key}.{name}");
        let send_id = self.required(&k.send_id, at, key, "send_id", |v, n| {
            Ok(v.int(n, &sub("send_id"), 0..=255, "; a KeyID is one octet")? as u8)
        });
        let recv_id = self.required(&k.recv_id, at, key, "recv_id", |v, n| {
            Ok(v.int(n, &sub("recv_id"), 0..=255, "; a KeyID is one octet")? as u8)
        });
        let secret = self.required(&k.key, at, key, "key", |v, s| {
            let len = s.get_ref().len();
            if (1..=TCP_AO_MAX_KEY_LEN).contains(&len) {
                Ok(s.get_ref().clone())
            } else {
                Err(v.report(
                    &s.span(),
                    &sub("key"),
                    format!(
                        "a TCP-AO master key is 1 to {TCP_AO_MAX_KEY_LEN} bytes long, this one \
                         is {len}"
                    ),
                ))
            }
        });
        let algorithm = self
            .optional(&k.algorithm, |v, a| {
                ALGORITHMS
                    .iter()
                    .find(|(name, _)| *name == a.get_ref())
                    .map(|(_, alg)| *alg)
                    .ok_or_else(|| {
                        v.report(
                            &a.span(),
                            &sub("algorithm"),
                            format!(
                                "{:?} is not a TCP-AO algorithm: use \"hmac-sha1\" or \
                                 \"aes-128-cmac\" (RFC 5926)",
                                a.get_ref()
                            ),
                        )
                    })
            })
            .map(|a| a.unwrap_or(TcpAoAlgorithm::HmacSha1));
        Ok(TcpAoKey {
            send_id: send_id?,
            recv_id: recv_id?,
            algorithm: algorithm?,
            key: secret?,
        })
    }
}
