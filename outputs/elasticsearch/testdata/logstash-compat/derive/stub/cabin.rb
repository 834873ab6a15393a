# Minimal stand-in for the `cabin` logging gem. jls-grok (grok-pure.rb) only
# uses it for debug logging, which this tool does not need.
module Cabin
  class Channel
    attr_accessor :level
    def subscribe(*) = nil
    def debug? = false
    def method_missing(*) = nil
    def respond_to_missing?(*) = true
  end
end
