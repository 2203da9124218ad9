wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, 100 do
    parts[i] = '{"event_id":"w' .. counter .. '-' .. i .. '","type":"open","contact_id":"c-' .. i .. '"}'
  end
  return wrk.format(nil, "/v1/events", nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
end
