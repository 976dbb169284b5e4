#!/usr/bin/ruby
# Ruby's msgpack (Debian's ruby-msgpack) as an interop peer of dv8's serdes,
# for tests/shell/test-serdes-interop-peers.sh:
#   ruby interop.rb encode DIR
#       decodes the edge corpus (DIR/edge.bin), dv8's random values
#       (random.dv8.bin) and Python's (pyrandom.bin), checks each value
#       against the JSON that describes it, and writes them back
#       (edge.ruby.bin, random.ruby.bin, pyrandom.ruby.bin) for
#       interop-peers.mjs and interop.py to check the bytes.
#   ruby interop.rb check DIR
#       decodes every peer's writing of the edge corpus, and dv8's writing
#       of Python's random values, back to the values they stand for.
# Prints "ruby ...: N values ok" lines or the first differences, exit 1.
#
# Ruby keeps what MessagePack tells apart: str is a UTF-8 String, bin a
# binary one; a Hash keeps its order and takes any key; unknown extensions
# stay ExtensionValue (allow_unknown_ext), timestamps are
# MessagePack::Timestamp once registered. Floats are doubles (a float32 is
# written back as float64), which interop-peers.mjs expects of it.
require 'json'
require 'msgpack'

PRODUCERS = %w[dv8 c python python-pure ruby].freeze
SAFE = 2**53 - 1
SHOW = 8 # differences printed in full per check
UNREAD = Object.new.freeze # what a frame that did not decode gives (nil is nil)
# A value with a map whose keys a Hash takes as one: a str and a bin of the
# same ASCII bytes (Ruby compares ASCII-only strings whatever their
# encoding). Python's random values have some; this peer cannot hold them
# and leaves them out (an empty frame), which interop.py checks.
MERGED = Object.new.freeze
class Merged < StandardError; end

FACTORY = MessagePack::Factory.new
FACTORY.register_type(-1, MessagePack::Timestamp)

def unpack(bytes)
  u = FACTORY.unpacker(allow_unknown_ext: true)
  u.feed(bytes)
  u.full_unpack # refuses bytes left over
end

def pack(value)
  FACTORY.dump(value)
end

def same(a, b)
  return false unless a.class == b.class

  case a
  when Float
    return a.nan? && b.nan? if a.nan? || b.nan?

    [a].pack('G') == [b].pack('G') # -0.0 is not 0.0
  when String
    a.encoding == b.encoding && a.b == b.b
  when Array
    a.size == b.size && a.zip(b).all? { |x, y| same(x, y) }
  when Hash
    a.size == b.size && a.to_a.zip(b.to_a).all? { |(k, x), (l, y)| same(k, l) && same(x, y) }
  when MessagePack::ExtensionValue
    a.type == b.type && a.payload.b == b.payload.b
  when MessagePack::Timestamp
    a.sec == b.sec && a.nsec == b.nsec
  else
    a == b
  end
end

def text?(k)
  k.is_a?(String) && k.encoding == Encoding::UTF_8
end

def index?(k)
  k.match?(/\A(0|[1-9][0-9]*)\z/) && k.to_i <= 2**32 - 2
end

# A value as it comes back from dv8 (docs/serdes.md): a JS number, so a
# float that is an integer within 2^53 is written back as an integer; a map
# with a key other than a string is a JS Map, written as dv8's extension
# 0x51 around the map; a map with string keys is an object, whose
# array-index names come first, ascending. Applied to both sides of a
# comparison with what dv8 wrote.
def js(v)
  case v
  when Float
    v.finite? && v == v.truncate && v.abs <= SAFE && !(v.zero? && 1.0 / v < 0) ? v.to_i : v
  when Array
    v.map { |x| js(x) }
  when Hash
    pairs = v.map { |k, x| [js(k), js(x)] }
    if pairs.all? { |k, _| text?(k) }
      pairs = pairs.select { |k, _| index?(k) }.sort_by { |k, _| k.to_i } + pairs.reject { |k, _| index?(k) }
    end
    pairs.each_with_object({}) { |(k, x), h| h[k] = x }
  when MessagePack::ExtensionValue
    return v unless v.type == 0x51

    inner = unpack(v.payload)
    inner.is_a?(Hash) ? js(inner) : v
  else
    v
  end
end

def from_hex(h)
  [h].pack('H*')
end

# The JSON description of a value (edge-corpus.mjs's tagged()).
def untag(t)
  return t if t.nil? || t == true || t == false
  return Integer(t['int']) if t.key?('int')
  return from_hex(t['float']).unpack1('G') if t.key?('float')
  return t['str'].encode(Encoding::UTF_8) if t.key?('str')
  return from_hex(t['bin']) if t.key?('bin')
  return t['array'].map { |x| untag(x) } if t.key?('array')
  if t.key?('map')
    h = t['map'].each_with_object({}) { |(k, x), o| o[untag(k)] = untag(x) }
    raise Merged if h.size != t['map'].size

    return h
  end
  return MessagePack::ExtensionValue.new(t['ext'], from_hex(t['data'])) if t.key?('ext')
  return MessagePack::Timestamp.new(Integer(t['ts'][0]), t['ts'][1]) if t.key?('ts')

  raise ArgumentError, "bad tagged value #{t.inspect}"
end

def untag_all(list)
  list.map do |t|
    untag(t)
  rescue Merged
    MERGED
  end
end

def parts(v)
  case v
  when Array then v.each_with_index.map { |x, i| ["[#{i}]", x] }
  when Hash then v.each_with_index.flat_map { |(k, x), i| [[".<key #{i}>", k], ["[#{short(k)[0, 24]}]", x]] }
  end
end

# The first place where a and b part (short() cuts long values).
def where(a, b, path = 'value')
  pa = parts(a)
  pb = parts(b)
  if pa && pb && a.class == b.class && pa.size == pb.size
    pa.zip(pb).each { |(n, x), (_, y)| return where(x, y, path + n) unless same(x, y) }
  end
  "#{path} is #{short(a)}, expected #{short(b)}"
end

def short(v)
  s = v.inspect
  s.size > 300 ? "#{s[0, 300]}..." : s
end

def hexs(b)
  s = b.b[0, 32].unpack1('H*').scan(/../).join(' ')
  b.bytesize > 32 ? "#{s} ... (#{b.bytesize} bytes)" : s
end

# One check's failures, the first few printed.
class Check
  def initialize(what)
    @what = what
    @failed = 0
  end

  def fail(msg)
    @failed += 1
    puts "#{@what}: #{msg}" if @failed <= SHOW
  end

  def done(count, extra = '')
    if @failed.positive?
      puts "#{@what}: #{@failed} of #{count} values wrong"
    else
      puts "#{@what}: #{count} values ok#{extra}"
    end
    @failed.zero?
  end
end

def unframe(path)
  data = File.binread(path)
  out = []
  p = 0
  while p < data.bytesize
    n = data.byteslice(p, 4).unpack1('N')
    out << data.byteslice(p + 4, n)
    p += 4 + n
  end
  out
end

def frame(path, frames)
  File.binwrite(path, frames.map { |b| [b.bytesize].pack('N') + b.b }.join)
end

def load_json(path)
  JSON.parse(File.read(path, encoding: 'UTF-8'))
end

# Decodes each frame and compares it with its value; the decoded values
# (UNREAD where a frame did not decode).
def decode_all(chk, frames, values, names, normalize = ->(v) { v })
  chk.fail("#{frames.size} values, #{values.size} expected") if frames.size != values.size
  frames.zip(values, names).map do |b, want, name|
    next MERGED if want.equal?(MERGED)

    begin
      got = unpack(b)
    rescue StandardError => e
      chk.fail("#{name}: #{hexs(b)} does not decode: #{e.class}: #{e.message}")
      next UNREAD
    end
    g = normalize.call(got)
    w = normalize.call(want)
    chk.fail("#{name}: #{hexs(b)} decodes wrong:\n  #{where(g, w)}") unless same(g, w)
    got
  end
end

def encode_mode(dir)
  ok = true
  edge = load_json("#{dir}/edge.json")
  sets = [
    ['the edge corpus', 'edge.bin', 'edge', untag_all(edge.map { |e| e['value'] }),
     edge.each_with_index.map { |e, i| "edge ##{i} '#{e['name']}'" }],
    ["dv8's random values", 'random.dv8.bin', 'random', untag_all(load_json("#{dir}/random.json")), nil],
    ["python's random values", 'pyrandom.bin', 'pyrandom', untag_all(load_json("#{dir}/pyrandom.json")), nil],
  ]
  sets.each do |what, src, dst, values, names|
    names ||= values.each_index.map { |i| "#{dst} ##{i}" }
    chk = Check.new("ruby decodes #{what}")
    decoded = decode_all(chk, unframe("#{dir}/#{src}"), values, names)
    frame("#{dir}/#{dst}.ruby.bin", decoded.map { |v| v.equal?(UNREAD) || v.equal?(MERGED) ? '' : pack(v) })
    merged = values.count { |v| v.equal?(MERGED) }
    ok = chk.done(values.size - merged, merged.positive? ? ", #{merged} left out (keys a Hash merges)" : '') && ok
  end
  ok
end

def check_mode(dir)
  ok = true
  edge = load_json("#{dir}/edge.json")
  values = untag_all(edge.map { |e| e['value'] })
  names = edge.each_with_index.map { |e, i| "edge ##{i} '#{e['name']}'" }
  PRODUCERS.each do |producer|
    chk = Check.new("ruby decodes #{producer}'s writing of the edge corpus")
    frames = unframe("#{dir}/edge.#{producer}.bin")
    # Empty frames: a value its producer refused or cannot write, which
    # interop-peers.mjs allows only where the corpus says so.
    keep = frames.each_index.reject { |i| frames[i].empty? }
    decode_all(chk, keep.map { |i| frames[i] }, keep.map { |i| values[i] }, keep.map { |i| names[i] },
               producer == 'dv8' ? method(:js) : ->(v) { v })
    ok = chk.done(keep.size, keep.size < frames.size ? ", #{frames.size - keep.size} left out" : '') && ok
  end
  chk = Check.new("ruby decodes dv8's writing of python's random values")
  mine = untag_all(load_json("#{dir}/pyrandom.json"))
  decode_all(chk, unframe("#{dir}/pyrandom.dv8.bin"), mine, mine.each_index.map { |i| "pyrandom ##{i}" }, method(:js))
  merged = mine.count { |v| v.equal?(MERGED) }
  chk.done(mine.size - merged, merged.positive? ? ", #{merged} left out (keys a Hash merges)" : '') && ok
end

unless ARGV.size == 2 && %w[encode check].include?(ARGV[0])
  puts 'usage: interop.rb encode|check DIR'
  exit 2
end
exit((ARGV[0] == 'encode' ? encode_mode(ARGV[1]) : check_mode(ARGV[1])) ? 0 : 1)
