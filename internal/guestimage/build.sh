#!/bin/sh
# build.sh OUTDIR: builds latchkey's small real guest from this machine's
# Debian packages (linux-image-cloud-amd64, busybox-static,
# qemu-guest-agent, cpio) into OUTDIR/vmlinuz and OUTDIR/initramfs.gz.
#
# The guest is a busybox system in an initramfs: a login prompt on the
# serial console (ttyS0, 115200), qemu-guest-agent on the virtio-serial
# port org.qemu.guest_agent.0, and ACPI power-button shutdown. root has no
# password until one is set through the agent (guest-set-user-password,
# which runs the chpasswd below): nobody can log in before that.
#
# Environment: KERNEL (default: the newest /boot/vmlinuz-*-cloud-amd64).
set -eu

out=${1:?usage: build.sh OUTDIR}
kernel=${KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)}
[ -n "$kernel" ] && [ -f "$kernel" ] || { echo "build.sh: no cloud kernel: apt-get install linux-image-cloud-amd64" >&2; exit 1; }
release=${kernel#/boot/vmlinuz-}
modules=/lib/modules/$release
for p in /bin/busybox /usr/sbin/qemu-ga; do
	[ -x "$p" ] || { echo "build.sh: $p missing: apt-get install busybox-static qemu-guest-agent" >&2; exit 1; }
done
command -v cpio >/dev/null || { echo "build.sh: cpio missing: apt-get install cpio" >&2; exit 1; }
case "$(/bin/busybox 2>&1 | head -n 1)" in
*static*) ;;
*) [ -z "$(ldd /bin/busybox 2>/dev/null | grep '=>')" ] || { echo "build.sh: /bin/busybox is not static: apt-get install busybox-static" >&2; exit 1; } ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin "$root"/etc/init.d \
	"$root"/etc/acpi/PWRF "$root"/proc "$root"/sys "$root"/dev "$root"/tmp "$root"/run \
	"$root"/var/run "$root"/var/log "$root"/root "$root"/lib/modules "$root"/lib64
cp /bin/busybox "$root"/bin/busybox
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s ../bin/busybox "$root"/sbin/init
ln -s bin/busybox "$root"/init

# qemu-ga and every library it links, at the paths ldd names.
cp /usr/sbin/qemu-ga "$root"/usr/sbin/qemu-ga
for lib in $(ldd /usr/sbin/qemu-ga | awk '/=>/ { print $3 } /^\t\/lib64/ { print $1 }'); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$root"/lib64/

# The virtio modules the cloud kernel builds as modules, uncompressed, in
# load order; button and evdev deliver the ACPI power button to acpid.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console button evdev; do
	f=$(find "$modules" -name "$m.ko*" | head -n 1)
	[ -n "$f" ] || { echo "build.sh: module $m not found under $modules" >&2; exit 1; }
	case "$f" in
	*.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
	*.gz) gzip -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*) cp "$f" "$root/lib/modules/$m.ko" ;;
	esac
	echo "$m" >>"$root"/lib/modules/order
done

cat >"$root"/etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
PASSWD
# "!" locks root until the agent sets a password.
cat >"$root"/etc/shadow <<'SHADOW'
root:!:19700:0:99999:7:::
SHADOW
chmod 600 "$root"/etc/shadow
echo 'root:x:0:' >"$root"/etc/group
echo latchkey-guest >"$root"/etc/hostname
echo /bin/sh >"$root"/etc/shells

cat >"$root"/etc/inittab <<'INITTAB'
::sysinit:/etc/init.d/rcS
ttyS0::respawn:/bin/getty -L 115200 ttyS0 vt100
::respawn:/etc/init.d/qemu-ga
::respawn:/etc/init.d/acpid
::ctrlaltdel:/bin/reboot
::shutdown:/bin/sync
INITTAB

cat >"$root"/etc/init.d/rcS <<'RCS'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/virtio-ports
mount -t devpts devpts /dev/pts
hostname -F /etc/hostname
while read -r m; do insmod "/lib/modules/$m.ko" 2>/dev/null; done </lib/modules/order
echo "latchkey guest up"
RCS

# qemu-ga runs once its port exists. Without udev nothing makes the
# /dev/virtio-ports/NAME link, so this does.
cat >"$root"/etc/init.d/qemu-ga <<'QGA'
#!/bin/sh
while :; do
	for p in /sys/class/virtio-ports/*; do
		[ -f "$p/name" ] || continue
		ln -sf "/dev/${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
	done
	[ -e /dev/virtio-ports/org.qemu.guest_agent.0 ] && break
	sleep 1
done
exec /usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run
QGA

# acpid reads the power button's event device, which devtmpfs creates a
# moment after evdev loads; acpid started without it exits.
cat >"$root"/etc/init.d/acpid <<'ACPID'
#!/bin/sh
while ! grep -qs "Power Button" /proc/bus/input/devices || [ ! -e /dev/input/event0 ]; do
	sleep 1
done
exec acpid -f
ACPID

cat >"$root"/etc/acpi/PWRF/00000080 <<'PWR'
#!/bin/sh
exec poweroff
PWR

# busybox 1.35 has no chpasswd, and qemu-ga's guest-set-user-password
# runs "chpasswd" (with -e for a crypted password), "user:password" on
# standard input. The password never reaches an argument list: mkpasswd
# reads it from its standard input.
cat >"$root"/usr/sbin/chpasswd <<'CHPASSWD'
#!/bin/sh
crypted=
[ "${1:-}" = "-e" ] && crypted=1
IFS= read -r line || [ -n "$line" ] || exit 1
user=${line%%:*}
pw=${line#*:}
[ -n "$user" ] && [ "$user" != "$line" ] || exit 1
if [ -n "$crypted" ]; then
	hash=$pw
else
	hash=$(printf '%s' "$pw" | mkpasswd -m sha512 -P 0) || exit 1
fi
umask 077
awk -F: -v OFS=: -v u="$user" -v h="$hash" '$1 == u { $2 = h; found = 1 } { print } END { exit !found }' \
	/etc/shadow >/etc/shadow.new || { rm -f /etc/shadow.new; exit 1; }
mv /etc/shadow.new /etc/shadow
CHPASSWD

# busybox has no shutdown, which qemu-ga's guest-shutdown runs.
cat >"$root"/sbin/shutdown <<'SHUTDOWN'
#!/bin/sh
for a; do
	case "$a" in
	-r) exec reboot ;;
	-H) exec halt ;;
	esac
done
exec poweroff
SHUTDOWN
chmod 755 "$root"/etc/init.d/rcS "$root"/etc/init.d/qemu-ga "$root"/etc/init.d/acpid "$root"/etc/acpi/PWRF/00000080 \
	"$root"/usr/sbin/chpasswd "$root"/sbin/shutdown

mkdir -p "$out"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -6 >"$work/initramfs.gz"
cp "$kernel" "$work/vmlinuz"
mv "$work/initramfs.gz" "$out/initramfs.gz"
mv "$work/vmlinuz" "$out/vmlinuz"
