wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = '{"contact_id":"c-' .. counter .. '","placement":"homepage_hero","attributes":{"first_name":"Maryam","locale":"fa"}}'
  return wrk.format(nil, "/v1/decide", nil, body)
end
