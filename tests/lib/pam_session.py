# tests/lib/pam_session.py USER CONFDIR HOOK - a PAM session, opened as sshd's
# monitor opens one (pam_start_confdir with the service "berth-join-test" of
# CONFDIR, pam_open_session), around `bash -c HOOK`, which runs as its child
# (so pam_berth's session record is an ancestor's, as under sshd); prints
# "open RC", exits with the hook's status.  For tests/engine/test_join.sh and
# bench/join_warm.
import ctypes, subprocess, sys
pam = ctypes.CDLL("libpam.so.0")
libc = ctypes.CDLL(None)
libc.calloc.restype = ctypes.c_void_p
CONV = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                        ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)
def conv(n, msgs, resp, data):
    resp[0] = libc.calloc(n, 16)
    return 0
class Conv(ctypes.Structure):
    _fields_ = [("conv", CONV), ("data", ctypes.c_void_p)]
c = Conv(CONV(conv), None)
h = ctypes.c_void_p()
user, confdir, hook = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]
assert pam.pam_start_confdir(b"berth-join-test", user, ctypes.byref(c), confdir, ctypes.byref(h)) == 0
rc = pam.pam_open_session(h, 0)
print("open", rc, flush=True)
r = subprocess.run(["bash", "-c", hook]).returncode if rc == 0 else 1
pam.pam_close_session(h, 0)
pam.pam_end(h, 0)
sys.exit(r)
