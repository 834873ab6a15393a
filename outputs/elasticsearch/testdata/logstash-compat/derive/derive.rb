# Replays logstash-input-syslog 3.7.0 (lib/logstash/inputs/syslog.rb) on a list
# of syslog lines, in ecs_compatibility => disabled and => v8 (= v1) modes.
# Run on JRuby through derive.sh; see README.md for what is simulated.
require 'json'
require 'time'
require 'optparse'
require 'java'

opts = { timezone: 'UTC', locale: 'en', fixed: false, codec_ecs: false }
OptionParser.new do |o|
  o.banner = 'usage: derive.rb --patterns DIR --grok-lib DIR [options] [input.json]'
  o.on('--patterns DIR', 'logstash-patterns-core patterns/ (with legacy/ and ecs-v1/)') { |v| opts[:patterns] = v }
  o.on('--grok-lib DIR', 'jls-grok lib/ directory') { |v| opts[:grok_lib] = v }
  o.on('--timezone TZ', 'syslog input `timezone` (default UTC)') { |v| opts[:timezone] = v }
  o.on('--locale L', 'syslog input `locale` (default en)') { |v| opts[:locale] = v }
  o.on('--pipeline-ecs-v8', 'legacy doc as if only the input (not the pipeline) had ecs_compatibility => disabled: ' \
       'the plain codec then still sets [event][original]') { opts[:codec_ecs] = true }
  o.on('--fixed-failure-priority', 'emulate the 3.7.1 fix (issue #77): grok failure => priority 13') { opts[:fixed] = true }
end.parse!
abort 'derive.rb: --patterns and --grok-lib are required' unless opts[:patterns] && opts[:grok_lib]

$LOAD_PATH.unshift(File.join(__dir__, 'stub'), opts[:grok_lib])
require 'grok-pure' # jls-grok, unchanged
java_import 'org.logstash.filters.parser.TimestampParserFactory'
java_import 'org.logstash.filters.parser.JodaParser'
warn "derive.rb: JRuby #{JRUBY_VERSION} (Ruby #{RUBY_VERSION}), Joda-Time #{org.joda.time.DateTime.java_class.to_java.getPackage.getImplementationVersion}, " \
     "Joni #{org.joni.Regex.java_class.to_java.getClassLoader.getResourceAsStream('META-INF/maven/org.jruby.joni/joni/pom.properties')&.to_io&.read.to_s[/version=(\S+)/, 1]}, " \
     "patterns #{opts[:patterns]}"

# The parts of org.logstash.Event the plugin uses: field references like
# "[log][syslog][priority]", tags, @timestamp (millisecond precision here).
class Event
  attr_accessor :timestamp_ms

  def initialize(timestamp_ms)
    @data = { '@version' => '1' }
    @timestamp_ms = timestamp_ms
  end

  def path(ref) = ref.start_with?('[') ? ref.scan(/\[([^\]]+)\]/).flatten : [ref]

  def get(ref)
    *parents, key = path(ref)
    map = parents.reduce(@data) { |m, k| m.is_a?(Hash) ? m[k] : nil }
    map.is_a?(Hash) ? map[key] : nil
  end

  def include?(ref)
    *parents, key = path(ref)
    map = parents.reduce(@data) { |m, k| m.is_a?(Hash) ? m[k] : nil }
    map.is_a?(Hash) && map.key?(key)
  end

  def set(ref, value)
    *parents, key = path(ref)
    parents.reduce(@data) { |m, k| m[k].is_a?(Hash) ? m[k] : (m[k] = {}) }[key] = value
  end

  def remove(ref)
    *parents, key = path(ref)
    map = parents.reduce(@data) { |m, k| m.is_a?(Hash) ? m[k] : nil }
    map.delete(key) if map.is_a?(Hash)
  end

  def tag(t)
    tags = get('tags')
    set('tags', tags.nil? ? [t] : (tags.is_a?(Array) ? tags : [tags]) | [t])
  end

  def to_h
    sort = ->(v) { v.is_a?(Hash) ? v.sort.to_h { |k, x| [k, sort.(x)] } : v }
    ts = Time.at(Rational(@timestamp_ms, 1000)).utc.strftime('%Y-%m-%dT%H:%M:%S.%LZ')
    sort.(@data.merge('@timestamp' => ts))
  end
end

# logstash-filter-grok 4.4.x `filter` + `handle`, with its defaults
# (break_on_match, named_captures_only, keep_empty_captures => false, no target).
class GrokFilter
  def initialize(pattern, pattern_dir, field:, overwrite:, tag_on_failure:)
    @grok = Grok.new
    Dir.glob(File.join(pattern_dir, '*')).each { |f| @grok.add_patterns_from_file(f) unless File.directory?(f) }
    @grok.compile(pattern, true)
    @field, @overwrite, @tag_on_failure = field, overwrite, tag_on_failure
  end

  attr_reader :tag_on_failure

  def filter(event)
    m = begin
      @grok.execute(event.get(@field).to_s)
    rescue StandardError
      nil
    end
    if m
      @grok.capture(m) { |field, value| handle(field, value, event) }
    else
      @tag_on_failure.each { |t| event.tag(t) }
    end
  end

  def handle(field, value, event)
    return if value.nil? || (value.is_a?(String) && value.empty?)
    if @overwrite.include?(field)
      event.set(field, value)
    else
      v = event.get(field)
      if v.nil? then event.set(field, value)
      elsif v.is_a?(Array) then event.set(field, v << value)
      elsif v.is_a?(String) then event.set(field, [v, value])
      end # else: grok logs "Not adding matched value" and keeps the existing one
    end
  end
end

# logstash-filter-date (DateFilter#executeParsers + upstream Java parsers), target @timestamp.
class DateFilter
  FORMATS = ['MMM dd HH:mm:ss', 'MMM  d HH:mm:ss', 'MMM d HH:mm:ss', 'ISO8601'].freeze

  def initialize(locale, timezone)
    @locale, @timezone = locale, timezone
  end

  # `now_ms` plays the Logstash process clock: JodaParser reads it when built
  # (default year) and when parsing (year guess), so parsers are built per event.
  def filter(event, now_ms)
    value = event.get('timestamp')
    return if value.nil?
    JodaParser.setDefaultClock { org.joda.time.DateTime.new(now_ms) }
    FORMATS.each do |format|
      parser = TimestampParserFactory.makeParser(format, @locale, @timezone)
      next unless value.is_a?(String) # TextParserExecutor: non-strings throw IllegalArgumentException
      begin
        event.timestamp_ms = parser.parse(value).getMillis
        return
      rescue Java::JavaLang::IllegalArgumentException
        next
      end
    end
    event.tag('_dateparsefailure')
  end
end

FACILITY_LABELS = ['kernel', 'user-level', 'mail', 'system', 'security/authorization', 'syslogd', 'line printer', 'network news', 'UUCP', 'clock', 'security/authorization', 'FTP', 'NTP', 'log audit', 'log alert', 'clock', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'].freeze
SEVERITY_LABELS = %w[Emergency Alert Critical Error Warning Notice Informational Debug].freeze

# LogStash::Inputs::Syslog#decode + #syslog_relay for one ECS mode.
class SyslogInput
  def initialize(ecs, patterns, date_filter, fixed, codec_ecs = ecs)
    @ecs, @date, @fixed, @codec_ecs = ecs, date_filter, fixed, codec_ecs
    sel = ->(legacy, v1) { ecs ? v1 : legacy }
    @priority_key = sel.('priority', '[log][syslog][priority]')
    @facility_key = sel.('facility', '[log][syslog][facility][code]')
    @severity_key = sel.('severity', '[log][syslog][severity][code]')
    @facility_label_key = sel.('facility_label', '[log][syslog][facility][name]')
    @severity_label_key = sel.('severity_label', '[log][syslog][severity][name]')
    @host_key = sel.('host', '[host][ip]')
    pattern = sel.("<%{POSINT:#{@priority_key}}>%{SYSLOGLINE}", "<%{POSINT:#{@priority_key}:int}>%{SYSLOGLINE}")
    @grok = GrokFilter.new(pattern, File.join(patterns, sel.('legacy', 'ecs-v1')),
                           field: 'message', overwrite: ['message'], tag_on_failure: ['_grokparsefailure_sysloginput'])
  end

  def decode(ip, data, received_ms)
    event = Event.new(received_ms)
    event.set('message', data)                   # codec plain (UTF-8 input assumed)
    event.set('[event][original]', data) if @codec_ecs # codec plain in ECS mode
    event.set(@host_key, ip)
    syslog_relay(event, received_ms)
    event
  end

  def syslog_relay(event, now_ms)
    if @ecs
      event.set('[event][original]', event.get('message'))
      @grok.filter(event)
      event.set('[service][type]', 'system') unless event.include?('[service][type]')
    else
      @grok.filter(event)
    end

    # Upstream 3.7.0 checks tags.include?(tag_on_failure) with the whole ARRAY, which is
    # never true, so a grok failure takes this branch too and gets priority nil.to_i = 0.
    failure_tag = @fixed ? @grok.tag_on_failure.first : @grok.tag_on_failure
    if event.get('tags').nil? || !event.get('tags').include?(failure_tag)
      priority = (event.get(@priority_key).to_i rescue 13)
      set_priority(event, priority)
      if @ecs
        @date.filter(event, now_ms)
        event.remove('timestamp')
      else
        event.set('timestamp', event.get('timestamp8601')) if event.include?('timestamp8601')
        @date.filter(event, now_ms)
      end
    else
      set_priority(event, 13)
    end
    set_labels(event)
  end

  def set_priority(event, priority)
    event.set(@priority_key, priority)
    event.set(@severity_key, priority & 7)
    event.set(@facility_key, priority >> 3)
  end

  def set_labels(event)
    facility_label = FACILITY_LABELS[event.get(@facility_key)]
    event.set(@facility_label_key, facility_label) if facility_label
    severity_label = SEVERITY_LABELS[event.get(@severity_key)]
    event.set(@severity_label_key, severity_label) if severity_label
  end
end

input = JSON.parse(ARGV.empty? ? $stdin.read : File.read(ARGV[0]))
date = DateFilter.new(opts[:locale], opts[:timezone])
modes = { 'logstash' => SyslogInput.new(false, opts[:patterns], date, opts[:fixed], opts[:codec_ecs]),
          'logstash_ecs' => SyslogInput.new(true, opts[:patterns], date, opts[:fixed]) }

out = input.map do |item|
  %w[name line received source_ip].each { |k| abort "derive.rb: #{item['name'].inspect}: missing #{k}" unless item[k] }
  received_ms = (Time.iso8601(item['received']).to_r * 1000).floor
  data = case item.fetch('transport', 'udp')
         when 'udp' then item['line'] # the datagram as sent
         when 'tcp' # tcp_read_lines yields each line with its "\n"
           abort "derive.rb: #{item['name']}: a tcp line cannot contain \\n" if item['line'].include?("\n")
           item['line'] + "\n"
         else abort "derive.rb: #{item['name']}: transport must be udp or tcp"
         end
  row = { 'name' => item['name'], 'line' => item['line'] }
  modes.each do |key, syslog|
    row[key] = syslog.decode(item['source_ip'], data, received_ms).to_h
  rescue StandardError => e # decode's `rescue => e`: Logstash logs the error and drops the event
    row[key] = nil
    row["#{key}_error"] = "#{e.class}: #{e.message} (Logstash drops this event)"
  end
  row
end
puts JSON.pretty_generate(out)
