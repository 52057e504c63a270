# mpp-check.pl: MPP's checker for ldirectord's "external-perl" check type.
#
# ldirectord reads this file once, compiles it into an anonymous sub
# ("sub { @ARGV = @_; <this file> }") and calls it in its own process for
# every check with VIP VPORT RIP RPORT: no fork, no exec. It counts a normal
# return as up and a die as down, so this file says down by dying with the
# cause. Run as a script (perl mpp-check.pl ...) it behaves like the
# mpp-check binary: exit 0 up, exit 1 down or error with one line on stderr.
#
# It reads the state file named by $MPP_STATE (default /run/mpp/state) with
# the same fail-safe rules and the same messages as mpp-check (see
# checkers/README.md and doc/state-file.md); the golden tests in
# tests/checker/ run every case through both. The options --state, --vs and
# --node work as in mpp-check; --dynamic and --nagios are the binary's only.
#
# Helper names live in their own package so that nothing leaks into
# ldirectord's namespace.
package MPP::Check;
use strict;
use warnings;
use Fcntl qw(O_RDONLY O_NONBLOCK);
use POSIX qw(ENOENT ENOTDIR);
require Socket;
require Time::HiRes;

use constant STATE_VERSION_OLDEST => 1;
use constant STATE_VERSION_CURRENT => 1;
use constant STATE_FILE_MAX => 8 << 20;
use constant MAX_QUOTED_ARG => 64;

# Control characters become '?' so a message stays one line; long text is cut.
sub untrusted {
    my ($s, $max) = @_;
    my $cut = length($s) > $max;
    $s = substr($s, 0, $max) if $cut;
    $s =~ tr/\x00-\x1f\x7f/?/;
    return $cut ? "$s..." : $s;
}

# Strict decimal within [lo, hi], at most 10 digits (ports, fwmarks).
sub number_in {
    my ($s, $lo, $hi) = @_;
    return undef unless $s =~ /\A[0-9]{1,10}\z/;
    my $v = 0 + $s;
    return ($v >= $lo && $v <= $hi) ? $v : undef;
}

# Header and weight numbers: optional '-', 1 to 18 digits.
sub int_field {
    my ($s) = @_;
    return undef unless defined $s && $s =~ /\A-?[0-9]{1,18}\z/;
    return 0 + $s;
}

# Dotted quad as inet_pton(AF_INET) takes it: no leading zeros, parts <= 255.
sub ip4 {
    my ($s) = @_;
    return undef unless $s =~ /\A(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\z/;
    return undef if grep { $_ > 255 } ($1, $2, $3, $4);
    return pack('C4', $1, $2, $3, $4);
}

sub ip6 {
    my ($s) = @_;
    return undef if length($s) == 0 || length($s) >= 47 || index($s, "\0") >= 0;
    return Socket::inet_pton(Socket::AF_INET6(), $s);
}

# Addresses compare as keys: "4 BYTES PORT", "6 BYTES PORT", "f MARK".
sub key4 { return "4 $_[0] $_[1]" }
sub key6 { return "6 $_[0] $_[1]" }

# What mpp-check prints for an address (FormatAddress).
sub format_key {
    my ($k) = @_;
    my ($kind, $rest) = split / /, $k, 2;
    return "fwmark:$rest" if $kind eq 'f';
    my $port = substr($rest, rindex($rest, ' ') + 1);
    my $ip = substr($rest, 0, rindex($rest, ' '));
    return Socket::inet_ntop(Socket::AF_INET(), $ip) . ":$port" if $kind eq '4';
    return '[' . Socket::inet_ntop(Socket::AF_INET6(), $ip) . "]:$port";
}

# "IPv4:port", "[IPv6]:port" or "fwmark:N" from the state file. Returns the
# key or undef.
sub parse_address {
    my ($t) = @_;
    if (substr($t, 0, 7) eq 'fwmark:') {
        my $m = number_in(substr($t, 7), 1, 4294967295);
        return defined $m ? "f $m" : undef;
    }
    my $colon = rindex($t, ':');
    return undef if $colon < 0;
    my $host = substr($t, 0, $colon);
    my $v6 = 0;
    if (length($host) >= 2 && substr($host, 0, 1) eq '[' && substr($host, -1) eq ']') {
        $host = substr($host, 1, -1);
        $v6 = 1;
    } elsif (index($host, ':') >= 0) {
        return undef;
    }
    my $ip = $v6 ? ip6($host) : ip4($host);
    return undef unless defined $ip;
    my $port = number_in(substr($t, $colon + 1), 1, 65535);
    return undef unless defined $port;
    return $v6 ? key6($ip, $port) : key4($ip, $port);
}

# The (address, port) pair of a check's arguments. Returns (key, why).
sub parse_pair {
    my ($host, $port) = @_;
    my $mark = number_in($host, 1, 4294967295);
    if (defined $mark) {
        return (undef, 'a firewall mark goes with port 0') unless $port eq '0';
        return ("f $mark", undef);
    }
    if (length($host) >= 2 && substr($host, 0, 1) eq '[' && substr($host, -1) eq ']') {
        $host = substr($host, 1, -1);
    }
    my ($ip, $v6) = (ip4($host), 0);
    ($ip, $v6) = (ip6($host), 1) unless defined $ip;
    return (undef, 'not an IP address or firewall mark') unless defined $ip;
    my $p = number_in($port, 1, 65535);
    return (undef, 'port must be a number from 1 to 65535') unless defined $p;
    return ($v6 ? key6($ip, $p) : key4($ip, $p), undef);
}

# Splits on single spaces into exactly n fields (the last one takes the rest
# when rest_last); empty fields are malformed.
sub split_exact {
    my ($line, $n, $rest_last) = @_;
    my @f = $rest_last ? split(/ /, $line, $n) : split(/ /, $line, -1);
    return undef unless @f == $n;
    for my $x (@f) { return undef if $x eq '' }
    return \@f;
}

sub parse_vs_line {
    my ($line) = @_;
    my $f = split_exact($line, 5, 0) or return undef;
    return undef unless $f->[2] eq 'rw' || $f->[2] eq 'ro';
    my $addr = parse_address($f->[4]);
    return undef unless defined $addr;
    return { name => $f->[1], address => $addr };
}

sub parse_dest_line {
    my ($line, $vs) = @_;
    my $f = split_exact($line, 6, 0) or return undef;
    return undef unless $f->[1] eq $vs->{name};
    return undef unless defined parse_address($f->[3]);
    return undef unless $f->[4] eq 'up' || $f->[4] eq 'down';
    my $w = int_field($f->[5]);
    return undef unless defined $w && $w >= 0 && $w <= 65535;
    return { vs => $vs->{name}, node => $f->[2], up => $f->[4] eq 'up', weight => $w };
}

# Reads the file as mpp-check does. Returns (content, why).
sub load {
    my ($path) = @_;
    my $fh;
    if (!sysopen($fh, $path, O_RDONLY | O_NONBLOCK)) {
        return (undef, 'state file is missing') if $! == ENOENT || $! == ENOTDIR;
        return (undef, 'state file is unreadable');
    }
    my @st = stat($fh);
    return (undef, 'state file is unreadable') unless @st;
    return (undef, 'state file is not a regular file') unless -f _;
    return (undef, 'state file is too large') if $st[7] >= STATE_FILE_MAX;
    my $data = '';
    while (1) {
        my $n = sysread($fh, $data, STATE_FILE_MAX - length($data), length($data));
        return (undef, 'state file is unreadable') unless defined $n;
        last if $n == 0;
        return (undef, 'state file is too large') if length($data) >= STATE_FILE_MAX;
    }
    close($fh);
    return ($data, undef);
}

# Header, version, final newline and "end" line. Returns (header, body lines,
# why).
sub parse_state {
    my ($data) = @_;
    return (undef, undef, 'state file is empty') if length($data) == 0;
    return (undef, undef, 'state file is corrupt (no final newline: truncated?)')
        if substr($data, -1) ne "\n";
    my @lines = split /\n/, $data, -1;
    pop @lines;    # after the final newline
    my %h;
    my @keys = qw(mpp-state pid seq time_ms interval_ms stale_after_ms);
    for my $i (0 .. $#keys) {
        my $k = $keys[$i];
        my $v;
        if ($i < @lines && substr($lines[$i], 0, length($k) + 1) eq "$k ") {
            $v = int_field(substr($lines[$i], length($k) + 1));
        }
        if (!defined $v) {
            return (undef, undef, 'not an MPP state file') if $i == 0;
            return (undef, undef, 'state file is corrupt (bad header)');
        }
        if ($i == 0 && ($v < STATE_VERSION_OLDEST || $v > STATE_VERSION_CURRENT)) {
            return (undef, undef, 'state file has an unknown version');
        }
        $h{$k} = $v;
    }
    return (undef, undef, 'state file is corrupt (bad header)')
        if $h{stale_after_ms} <= 0 || $h{interval_ms} <= 0;
    return (undef, undef, 'state file is corrupt (no end line: truncated?)')
        if @lines < 7 || $lines[-1] ne 'end';
    my @body = @lines[6 .. $#lines - 1];
    return (\%h, \@body, undef);
}

# The lookup: every line passed must start with a known record word; only
# the dest line found is parsed in full. $want is ['name', VS, NODE] or
# ['address', VSKEY, NODEKEY]. Returns (dest, why, corrupt).
sub find_dest {
    my ($body, $want) = @_;
    my ($vs, $candidate, $seen) = (undef, 0, 0);
    my $want_text = $want->[0] eq 'address' ? format_key($want->[2]) : undef;
    for my $line (@$body) {
        my $word = length($line) < 5 ? '' : substr($line, 0, 5);
        if ($word eq 'dest ') {
            next unless $candidate;
            my $n = length($vs->{name});
            return (undef, 'state file is corrupt (bad dest line)', 1)
                unless length($line) > 5 + $n && substr($line, 5, $n + 1) eq "$vs->{name} ";
            my $hit;
            if ($want->[0] eq 'name') {
                my $node = $want->[2];
                my $at = 5 + $n + 1;
                $hit = length($line) > $at + length($node) && substr($line, $at, length($node) + 1) eq "$node ";
            } else {
                # "... ADDRESS up|down WEIGHT": compare ADDRESS as the
                # writer writes it.
                $hit = $line =~ / \Q$want_text\E (?:up|down) [0-9]+\z/
                    && length($line) - length($&) >= 5 + $n + 1;
            }
            next unless $hit;
            my $d = parse_dest_line($line, $vs);
            return (undef, 'state file is corrupt (bad dest line)', 1) unless $d;
            return ($d, undef, 0);
        } elsif ($word eq 'node ' || $word eq 'pool ') {
            next;
        } elsif (substr($line, 0, 3) eq 'vs ' && length($line) >= 5) {
            $vs = parse_vs_line($line);
            return (undef, 'state file is corrupt (bad vs line)', 1) unless $vs;
            $candidate = $want->[0] eq 'name' ? $vs->{name} eq $want->[1] : $vs->{address} eq $want->[1];
            $seen ||= $candidate;
        } else {
            return (undef, 'state file is corrupt (bad syntax)', 1);
        }
    }
    if ($want->[0] eq 'name') {
        return (undef, $seen ? 'node is not in this virtual server' : 'no such virtual server in the state file', 0);
    }
    return (undef, $seen ? 'real server is not in this virtual server'
                         : 'no virtual server with that address in the state file', 0);
}

# Returns (exit code, message or undef), as mpp-check would.
sub run {
    my @argv = @_;
    my (%opt, @pos);
    my $done = 0;
    while (@argv) {
        my $a = shift @argv;
        if ($done || substr($a, 0, 1) ne '-' || $a eq '-') {
            return (1, "mpp-check: too many arguments: unexpected '" . untrusted($a, MAX_QUOTED_ARG) . "'")
                if @pos == 4;
            push @pos, $a;
            next;
        }
        if ($a eq '--') { $done = 1; next }
        my $taken = 0;
        for my $name (qw(--state --vs --node)) {
            my $v;
            if ($a eq $name) {
                return (1, "mpp-check: option needs a value: '$name'") unless @argv;
                $v = shift @argv;
            } elsif (substr($a, 0, length($name) + 1) eq "$name=") {
                $v = substr($a, length($name) + 1);
            } else {
                next;
            }
            return (1, "mpp-check: option needs a value: '$name'") if $v eq '';
            $opt{$name} = $v;
            $taken = 1;
            last;
        }
        return (1, "mpp-check: unknown option '" . untrusted($a, MAX_QUOTED_ARG) . "'") unless $taken;
    }
    my ($want, $subject);
    if (defined $opt{'--vs'} || defined $opt{'--node'}) {
        return (1, 'mpp-check: --vs and --node go together') unless defined $opt{'--vs'} && defined $opt{'--node'};
        return (1, 'mpp-check: give either VIP VPORT RIP RPORT or --vs NAME --node NAME') if @pos;
        $want = ['name', $opt{'--vs'}, $opt{'--node'}];
        $subject = untrusted($opt{'--vs'}, MAX_QUOTED_ARG) . '/' . untrusted($opt{'--node'}, MAX_QUOTED_ARG);
    } elsif (@pos != 4) {
        return (1, 'mpp-check: expected VIP VPORT RIP RPORT or --vs NAME --node NAME (see --help)');
    } else {
        my ($vk, $why) = parse_pair($pos[0], $pos[1]);
        return (1, "mpp-check: virtual server '" . untrusted($pos[0], MAX_QUOTED_ARG) . ' '
                   . untrusted($pos[1], MAX_QUOTED_ARG) . "': $why") unless defined $vk;
        my $nk;
        ($nk, $why) = parse_pair($pos[2], $pos[3]);
        $why = 'not an IP address' if defined $nk && substr($nk, 0, 1) eq 'f';
        return (1, "mpp-check: real server '" . untrusted($pos[2], MAX_QUOTED_ARG) . ' '
                   . untrusted($pos[3], MAX_QUOTED_ARG) . "': $why") if defined $why;
        $want = ['address', $vk, $nk];
        $subject = format_key($vk) . ' -> ' . format_key($nk);
    }
    my $path = $opt{'--state'};
    $path = (defined $ENV{MPP_STATE} && $ENV{MPP_STATE} ne '') ? $ENV{MPP_STATE} : '/run/mpp/state'
        unless defined $path;
    my $path_text = untrusted($path, 256);

    my ($data, $why) = load($path);
    return (1, "mpp-check: $path_text: $why") unless defined $data;
    my ($h, $body);
    ($h, $body, $why) = parse_state($data);
    return (1, "mpp-check: $path_text: $why") unless defined $h;

    my $now = 0 + sprintf('%d', int(Time::HiRes::time() * 1000));
    my $age = $now - $h->{time_ms};
    if ($age > $h->{stale_after_ms}) {
        return (1, "mpp-check: $path_text: state file is stale (written $age ms ago, stale_after_ms $h->{stale_after_ms})");
    }
    if (-$age > $h->{stale_after_ms}) {
        return (1, "mpp-check: $path_text: state file is from the future (" . (-$age)
                   . " ms ahead, stale_after_ms $h->{stale_after_ms})");
    }
    my ($d, $corrupt);
    ($d, $why, $corrupt) = find_dest($body, $want);
    return (1, "mpp-check: $subject: $why") unless $d;
    return (0, undef) if $d->{up};
    return (1, "mpp-check: $d->{vs}/$d->{node} is down");
}

package main;

{
    my ($mpp_check_code, $mpp_check_msg) = eval { MPP::Check::run(@ARGV) };
    ($mpp_check_code, $mpp_check_msg) = (1, 'mpp-check: internal error: ' . MPP::Check::untrusted("$@", 200))
        unless defined $mpp_check_code;
    if (defined((caller(0))[3])) {
        # Inside ldirectord: return is up, die is down.
        die "$mpp_check_msg\n" if $mpp_check_code != 0;
        return;
    }
    print STDERR "$mpp_check_msg\n" if defined $mpp_check_msg;
    exit $mpp_check_code;
}
