//go:build linux

package rfcomm

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The machine's RFCOMM sockets: every Bluetooth system call of baluchon is
// in this file. Sockets are non-blocking and handed to Go's poller as
// *os.File (the net package knows no AF_BLUETOOTH), so that reads, writes,
// deadlines and Close behave as for TCP connections.

// System returns the machine's Bluetooth sockets.
func System() Sockets { return system{} }

type system struct{}

// hciGetDevInfo is HCIGETDEVINFO, _IOR('H', 211, int).
const hciGetDevInfo = 0x800448d3

// hciDevInfo is the start of struct hci_dev_info (<bluetooth/hci.h>):
// dev_id, name, bdaddr (little-endian), flags; the kernel writes 92 bytes.
type hciDevInfo struct {
	devID  uint16
	name   [8]byte
	bdaddr [6]byte
	flags  uint32
	rest   [72]byte
}

// hciUp is the bit of flags set while the adapter is up (HCI_UP).
const hciUp = 1 << 0

// Adapter returns the address of the first adapter (hci0), when it is up.
func (system) Adapter() ([6]byte, bool, error) {
	var bd [6]byte
	fd, err := unix.Socket(unix.AF_BLUETOOTH, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.BTPROTO_HCI)
	if err != nil {
		if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EPROTONOSUPPORT) {
			return bd, false, ErrNoBluetooth
		}
		return bd, false, os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	info := hciDevInfo{devID: 0}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), hciGetDevInfo, uintptr(unsafe.Pointer(&info))); e != 0 {
		if e == unix.ENODEV {
			return bd, false, nil // no adapter
		}
		return bd, false, os.NewSyscallError("ioctl HCIGETDEVINFO", e)
	}
	if info.flags&hciUp == 0 {
		return bd, false, nil // switched off (rfkill, or bluetoothctl power off)
	}
	return reverse(info.bdaddr), true, nil
}

// reverse turns a printed address into the kernel's order, and back.
func reverse(a [6]byte) [6]byte {
	return [6]byte{a[5], a[4], a[3], a[2], a[1], a[0]}
}

func socket() (int, error) {
	fd, err := unix.Socket(unix.AF_BLUETOOTH, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.BTPROTO_RFCOMM)
	if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EPROTONOSUPPORT) {
		return -1, ErrNoBluetooth
	}
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

func (system) Listen(bd [6]byte, channel uint8) (net.Listener, error) {
	fd, err := socket()
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrRFCOMM{Addr: reverse(bd), Channel: channel}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	f := os.NewFile(uintptr(fd), "rfcomm-listener")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &listener{f: f, rc: rc, addr: &Addr{BD: bd, Channel: channel}}, nil
}

type listener struct {
	f    *os.File
	rc   syscall.RawConn
	addr *Addr
}

func (l *listener) Accept() (net.Conn, error) {
	var (
		nfd  int
		sa   unix.Sockaddr
		aerr error
	)
	err := l.rc.Read(func(fd uintptr) bool {
		nfd, sa, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return aerr != unix.EAGAIN
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, os.NewSyscallError("accept", aerr)
	}
	remote := &Addr{Channel: l.addr.Channel}
	if r, ok := sa.(*unix.SockaddrRFCOMM); ok {
		remote.BD = reverse(r.Addr)
	}
	return &conn{File: os.NewFile(uintptr(nfd), "rfcomm"), local: l.addr, remote: remote}, nil
}

func (l *listener) Close() error   { return l.f.Close() }
func (l *listener) Addr() net.Addr { return l.addr }

func (system) Dial(ctx context.Context, bd [6]byte, channel uint8) (net.Conn, error) {
	fd, err := socket()
	if err != nil {
		return nil, err
	}
	err = unix.Connect(fd, &unix.SockaddrRFCOMM{Addr: reverse(bd), Channel: channel})
	if err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	f := os.NewFile(uintptr(fd), "rfcomm")
	if err := waitConnected(ctx, f); err != nil {
		f.Close()
		return nil, err
	}
	local := &Addr{Channel: channel}
	if sa, err := unix.Getsockname(fd); err == nil {
		if r, ok := sa.(*unix.SockaddrRFCOMM); ok {
			local.BD = reverse(r.Addr)
		}
	}
	return &conn{File: f, local: local, remote: &Addr{BD: bd, Channel: channel}}, nil
}

// waitConnected waits until the non-blocking connect of f ends, or ctx.
func waitConnected(ctx context.Context, f *os.File) error {
	if d, ok := ctx.Deadline(); ok {
		_ = f.SetWriteDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	first := true
	err = rc.Write(func(fd uintptr) bool {
		if first {
			first = false
			return false // wait until writable
		}
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			cerr = os.NewSyscallError("getsockopt", err)
		case v == int(unix.EINPROGRESS) || v == int(unix.EALREADY) || v == int(unix.EINTR):
			return false
		case v != 0:
			cerr = os.NewSyscallError("connect", unix.Errno(v))
		}
		return true
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	return f.SetWriteDeadline(time.Time{})
}

// conn is a connected RFCOMM socket.
type conn struct {
	*os.File
	local, remote *Addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }
