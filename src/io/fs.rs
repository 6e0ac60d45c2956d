//! Which filesystem a file lives on, from its statfs magic number.

/// The name of a network or FUSE filesystem holding `file`, or `None` for
/// local ones (and where statfs is unavailable).
#[cfg(target_os = "linux")]
pub(crate) fn remote_kind(file: &std::fs::File) -> Option<&'static str> {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: a valid descriptor and a writable statfs buffer.
    if unsafe { libc::fstatfs(file.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstatfs succeeded, so it filled the buffer.
    let magic = unsafe { st.assume_init() }.f_type as u64 & 0xffff_ffff;
    remote_name(magic)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn remote_kind(_file: &std::fs::File) -> Option<&'static str> {
    None
}

/// Filesystems on which the kernel's page-fault path goes over a network or
/// through a user-space daemon (magic numbers of linux/magic.h and the
/// out-of-tree filesystems that publish theirs).
pub(crate) fn remote_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x6969 => "NFS",
        0x6573_5546 => "FUSE",
        0xff53_4d42 => "CIFS",
        0xfe53_4d42 => "SMB2",
        0x517b => "SMB",
        0x0bd0_0bd0 => "Lustre",
        0x0102_1997 => "9p",
        0x00c3_6400 => "CephFS",
        0x4750_4653 => "GPFS",
        0x5346_414f => "AFS",
        0x2003_0528 => "OrangeFS",
        0x7375_7245 => "Coda",
        0x564c => "NCP",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn network_magics_are_recognised_and_local_ones_are_not() {
        assert_eq!(super::remote_name(0x6969), Some("NFS"));
        assert_eq!(super::remote_name(0x6573_5546), Some("FUSE"));
        assert_eq!(super::remote_name(0x0bd0_0bd0), Some("Lustre"));
        assert_eq!(super::remote_name(0xef53), None); // ext4
        assert_eq!(super::remote_name(0x0102_1994), None); // tmpfs
    }
}
